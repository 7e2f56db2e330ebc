package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
	"ferry.dev/ferry/internal/api"
)

// syncTimeout bounds the cache's first list: a server that cannot read the objects in
// that time is misconfigured (no rights, no CRDs) and says so rather than serve nothing.
const syncTimeout = 2 * time.Minute

// Start builds the informer cache of Applications, Releases and Promotions the API
// reads from, and the live feed of its changes, and waits until the cache holds every
// object. Both stop with ctx. Without Start the API answers 503 (the webhooks work).
// The server's identity needs list and watch on the three kinds in every namespace.
func (s *Server) Start(ctx context.Context) error {
	if s.Local == nil {
		return errors.New("the API's cache needs a Kubernetes config")
	}
	scheme := runtime.NewScheme()
	if err := ferryv1.AddToScheme(scheme); err != nil {
		return err
	}
	c, err := cache.New(s.Local, cache.Options{Scheme: scheme, DefaultTransform: api.Transform, ReaderFailOnMissingInformer: true})
	if err != nil {
		return fmt.Errorf("the API's cache: %w", err)
	}
	for _, ix := range api.Indexes() {
		if err := c.IndexField(ctx, ix.Object, ix.Field, ix.Extract); err != nil {
			return fmt.Errorf("the API's cache: %w", err)
		}
	}
	for _, obj := range []client.Object{&ferryv1.Application{}, &ferryv1.Release{}, &ferryv1.Promotion{}} {
		if _, err := c.GetInformer(ctx, obj); err != nil {
			return fmt.Errorf("the API's cache: %w", err)
		}
	}
	feed := api.NewFeed(c)
	if err := feed.Follow(ctx, c); err != nil {
		return fmt.Errorf("the API's live feed: %w", err)
	}
	go func() {
		if err := c.Start(ctx); err != nil {
			logger(s).Printf("the API's cache stopped: %v", err)
		}
	}()
	wait, cancel := context.WithTimeout(ctx, syncTimeout)
	defer cancel()
	if !c.WaitForCacheSync(wait) {
		return fmt.Errorf("the API's cache did not sync within %s: can the server list and watch applications, releases and promotions.ferry.dev?", syncTimeout)
	}
	s.cache, s.feed = c, feed
	return nil
}

// logger is the server's log, before Handler has set its default.
func logger(s *Server) *log.Logger {
	if s.Log == nil {
		return log.New(io.Discard, "", 0)
	}
	return s.Log
}
