package reloader

import (
	"context"
	"net/http"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"
)

// The wait before the next reload after one failed (the server not up yet, or a file it
// refuses), doubling up to the maximum.
const (
	retryFirst = time.Second
	retryMax   = time.Minute
)

// Loop is a writer's life once its informers have synced: it calls write, which writes
// the file(s) when what the objects say differs from them and reports whether it wrote
// and how many objects there are; after a write it reloads the server at url (none when
// empty) until the server takes it, retrying with a doubling wait; then it waits for a
// change (a burst settles into one write and one reload) and begins again, until ctx
// ends. The server's name and what it reloaded are said in the log from ctx.
func Loop(ctx context.Context, client *http.Client, url string, changed <-chan struct{}, say Say, write func() (bool, int, error)) error {
	log := logr.FromContextOrDiscard(ctx)
	pending, retry := false, retryFirst
	for {
		wrote, n, err := write()
		if err != nil {
			return err
		}
		if wrote {
			pending, retry = true, retryFirst
		}
		var again <-chan time.Time
		if pending {
			if err := Reload(ctx, client, url); err != nil {
				log.Error(err, "reloading "+say.Server, "retryIn", retry.String())
				again = time.After(retry)
				retry = min(2*retry, retryMax)
			} else {
				log.Info(say.Reloaded, say.CountKey, n)
				pending = false
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-changed:
			time.Sleep(200 * time.Millisecond)
		case <-again:
		}
	}
}

// Say is what Loop's log says of a reload: the server's name, the message of a reload
// taken, and the key the count of objects goes under.
type Say struct{ Server, Reloaded, CountKey string }

// Watch adds an informer for gvr whose every event pokes changed (a channel of one
// place: pokes while one waits are one change).
func Watch(f dynamicinformer.DynamicSharedInformerFactory, gvr schema.GroupVersionResource, changed chan struct{}) (informers.GenericInformer, error) {
	inf := f.ForResource(gvr)
	poke := func(any) {
		select {
		case changed <- struct{}{}:
		default:
		}
	}
	_, err := inf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: poke, DeleteFunc: poke, UpdateFunc: func(_, n any) { poke(n) },
	})
	return inf, err
}
