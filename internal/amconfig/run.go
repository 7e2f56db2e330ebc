package amconfig

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"

	"ferry.dev/ferry/internal/reloader"
)

// Resource is the prometheus-operator's AlertmanagerConfig resource.
var Resource = schema.GroupVersionResource{Group: "monitoring.coreos.com", Version: "v1alpha1", Resource: "alertmanagerconfigs"}

var secrets = schema.GroupVersionResource{Version: "v1", Resource: "secrets"}

// Options are where the config goes and which Alertmanager reads it.
type Options struct {
	// File is the Alertmanager config file; Run owns it and rewrites it whole.
	File string
	// Global holds the settings every receiver shares.
	Global Global
	// AlertmanagerURL is the base URL of the Alertmanager to reload; empty: no reload.
	AlertmanagerURL string
	// Client sends the reload request; nil: a client with a 10 s timeout.
	Client *http.Client
}

// Run watches AlertmanagerConfig objects and Secrets and keeps the config file in step,
// reloading Alertmanager after each change, until ctx ends. It writes the file once it
// has read every object, so a file that exists is the sign of its health. The logger
// comes from ctx.
func Run(ctx context.Context, dyn dynamic.Interface, o Options) error {
	if err := o.Global.Validate(); err != nil {
		return err
	}
	log := logr.FromContextOrDiscard(ctx)
	if o.Client == nil {
		o.Client = &http.Client{Timeout: 10 * time.Second}
	}
	changed := make(chan struct{}, 1)
	factory := dynamicinformer.NewDynamicSharedInformerFactory(dyn, 10*time.Minute)
	configs, err := reloader.Watch(factory, Resource, changed)
	if err != nil {
		return err
	}
	secretInf, err := reloader.Watch(factory, secrets, changed)
	if err != nil {
		return err
	}
	factory.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), configs.Informer().HasSynced, secretInf.Informer().HasSynced) {
		return ctx.Err()
	}
	say := reloader.Say{Server: "Alertmanager", Reloaded: "Alertmanager reloaded its config", CountKey: "alertmanagerConfigs"}
	return reloader.Loop(ctx, o.Client, o.AlertmanagerURL, changed, say, func() (bool, int, error) {
		return sync(log, o, configs, secretInf)
	})
}

// sync writes the config of the objects now listed when it differs from the file; it
// reports whether it wrote and how many objects there are.
func sync(log logr.Logger, o Options, configs, secretInf informers.GenericInformer) (bool, int, error) {
	list, err := configs.Lister().List(labels.Everything())
	if err != nil {
		return false, 0, err
	}
	var objs []*unstructured.Unstructured
	for _, obj := range list {
		if u, ok := obj.(*unstructured.Unstructured); ok {
			objs = append(objs, u)
		}
	}
	b, errs := Build(o.Global, objs, secretFrom(secretInf))
	for _, err := range errs {
		log.Error(err, "skipping an AlertmanagerConfig")
	}
	if b == nil {
		return false, len(objs), nil
	}
	if have, err := os.ReadFile(o.File); err == nil && bytes.Equal(have, b) {
		return false, len(objs), nil
	}
	// The file holds Slack URLs, which are credentials: only its owner reads it.
	return true, len(objs), reloader.WriteFile(o.File, b, 0o600, "alertmanager")
}

// secretFrom reads Secrets from the informer's cache.
func secretFrom(inf informers.GenericInformer) SecretFunc {
	return func(namespace, name, key string) (string, error) {
		obj, err := inf.Lister().ByNamespace(namespace).Get(name)
		if err != nil {
			return "", fmt.Errorf("secret %q: %w", name, err)
		}
		u, ok := obj.(*unstructured.Unstructured)
		if !ok {
			return "", fmt.Errorf("secret %q: unexpected %T", name, obj)
		}
		v, found, _ := unstructured.NestedString(u.Object, "data", key)
		if !found {
			return "", fmt.Errorf("secret %q has no key %q", name, key)
		}
		b, err := base64.StdEncoding.DecodeString(v)
		if err != nil {
			return "", fmt.Errorf("key %q of secret %q: %w", key, name, err)
		}
		return string(b), nil
	}
}
