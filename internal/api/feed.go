package api

import (
	"bytes"
	"context"
	"encoding/json"
	"sync"
	"time"

	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
)

// subscriberBuffer is how many events a watcher may fall behind before it is told to
// resync: a browser on a slow link must never hold up the cache's informers.
const subscriberBuffer = 256

// Informers gives the cache's informers, whose changes the feed follows (the
// controller-runtime cache does).
type Informers interface {
	GetInformer(ctx context.Context, obj client.Object, opts ...cache.InformerGetOption) (cache.Informer, error)
}

// Feed fans the changes of the cache out to the watch streams of each namespace: an
// application's board row when it changed, and each Promotion's change. The informers'
// handlers only read the cache and put events into buffered channels, never waiting
// for a watcher.
type Feed struct {
	reader client.Reader
	done   chan struct{}
	// heartbeat is the watch streams' heartbeat interval.
	heartbeat time.Duration

	mu   sync.Mutex
	subs map[string]map[*subscriber]struct{} // by namespace
	// rows are the board rows last sent, by namespace then application, kept while the
	// namespace has watchers: a change that leaves a row as it was sends nothing.
	rows map[string]map[string][]byte
}

// subscriber is one watch stream.
type subscriber struct {
	events chan sseEvent
	// resync is signalled when the stream fell behind and lost events.
	resync chan struct{}
}

// sseEvent is one server-sent event: its name and its JSON.
type sseEvent struct {
	name string
	data []byte
}

// PromotionChange is the watch stream's promotion event.
type PromotionChange struct {
	Name            string                 `json:"name"`
	Application     string                 `json:"application"`
	Stage           string                 `json:"stage"`
	Phase           ferryv1.PromotionPhase `json:"phase,omitempty"`
	Step            string                 `json:"step,omitempty"`
	ResourceVersion string                 `json:"resourceVersion"`
	// Deleted says the Promotion is gone.
	Deleted bool `json:"deleted,omitempty"`
}

// NewFeed returns a feed reading board rows from the cache c; Follow starts it.
func NewFeed(c client.Reader) *Feed {
	return &Feed{reader: c, done: make(chan struct{}), heartbeat: heartbeat, subs: map[string]map[*subscriber]struct{}{},
		rows: map[string]map[string][]byte{}}
}

// Follow registers the feed's handlers on the Application and Promotion informers; the
// watch streams end when ctx does (the server stops).
func (f *Feed) Follow(ctx context.Context, inf Informers) error {
	for obj, changed := range map[client.Object]func(any, bool){
		&ferryv1.Application{}: f.applicationChanged,
		&ferryv1.Promotion{}:   f.promotionChanged,
	} {
		i, err := inf.GetInformer(ctx, obj)
		if err != nil {
			return err
		}
		if _, err := i.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
			AddFunc:    func(o any) { changed(o, false) },
			UpdateFunc: func(_, o any) { changed(o, false) },
			DeleteFunc: func(o any) {
				if t, ok := o.(toolscache.DeletedFinalStateUnknown); ok {
					o = t.Obj
				}
				changed(o, true)
			},
		}); err != nil {
			return err
		}
	}
	go func() {
		<-ctx.Done()
		close(f.done)
	}()
	return nil
}

// subscribe adds a watcher of the namespace; cancel removes it.
func (f *Feed) subscribe(ns string) (*subscriber, func()) {
	s := &subscriber{events: make(chan sseEvent, subscriberBuffer), resync: make(chan struct{}, 1)}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.subs[ns] == nil {
		f.subs[ns] = map[*subscriber]struct{}{}
		f.rows[ns] = map[string][]byte{}
	}
	f.subs[ns][s] = struct{}{}
	return s, func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		delete(f.subs[ns], s)
		if len(f.subs[ns]) == 0 {
			delete(f.subs, ns)
			delete(f.rows, ns)
		}
	}
}

// applicationChanged sends the application's row, or a resync when it was deleted (the
// board then drops it).
func (f *Feed) applicationChanged(o any, deleted bool) {
	app, ok := o.(*ferryv1.Application)
	if !ok {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.subs[app.Namespace]) == 0 {
		return
	}
	if deleted {
		delete(f.rows[app.Namespace], app.Name)
		f.publish(app.Namespace, sseEvent{name: "resync", data: []byte("{}")})
		return
	}
	f.sendRow(app.Namespace, app.Name)
}

// promotionChanged sends the Promotion's change, then its application's row if that
// changed with it.
func (f *Feed) promotionChanged(o any, deleted bool) {
	p, ok := o.(*ferryv1.Promotion)
	if !ok {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.subs[p.Namespace]) == 0 {
		return
	}
	pr := progressOf(p)
	data, err := json.Marshal(PromotionChange{Name: p.Name, Application: p.Spec.Application, Stage: p.Spec.Stage, Phase: pr.Phase,
		Step: pr.Step, ResourceVersion: p.ResourceVersion, Deleted: deleted})
	if err != nil {
		return
	}
	f.publish(p.Namespace, sseEvent{name: "promotion", data: data})
	f.sendRow(p.Namespace, p.Spec.Application)
}

// sendRow sends the application's board row as the cache has it now, unless it is the
// row sent last. It runs under f.mu, so rows go out in the order of the cache's states.
func (f *Feed) sendRow(ns, name string) {
	app := &ferryv1.Application{}
	if err := f.reader.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, app, client.UnsafeDisableDeepCopy); err != nil {
		return // gone: its delete sends a resync
	}
	row, err := summarize(context.Background(), f.reader, app)
	if err != nil {
		return
	}
	data, err := json.Marshal(row)
	if err != nil || bytes.Equal(f.rows[ns][name], data) {
		return
	}
	f.rows[ns][name] = data
	f.publish(ns, sseEvent{name: "application", data: data})
}

// publish queues the event for every watcher of the namespace without waiting: a
// watcher whose queue is full is told to resync instead.
func (f *Feed) publish(ns string, ev sseEvent) {
	for s := range f.subs[ns] {
		select {
		case s.events <- ev:
		default:
			select {
			case s.resync <- struct{}{}:
			default:
			}
		}
	}
}
