package api

import (
	"encoding/json"

	"sigs.k8s.io/controller-runtime/pkg/client"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
	"ferry.dev/ferry/internal/appfile"
	"ferry.dev/ferry/internal/preview"
)

// Field indexes of the informer cache the API reads from: the board looks up the last
// Promotion of each stage of a thousand applications per request, which a scan of
// every Promotion per stage could not do in time.
const (
	// indexAppStage is a Promotion's application/stage.
	indexAppStage = "api.ferry.dev/app-stage"
	// indexApp is a Promotion's or a Release's application.
	indexApp = "api.ferry.dev/app"
)

// annotationStageNamespaces is set by Transform on a cached Release: the namespace it
// deploys into in each stage of its app file (JSON, stage -> namespace), so that the app
// file itself need not be kept in memory.
const annotationStageNamespaces = "api.ferry.dev/stage-namespaces"

// Index is one field index the API's reads need from the cache.
type Index struct {
	Object  client.Object
	Field   string
	Extract client.IndexerFunc
}

// Indexes are the field indexes the server registers on its cache before starting it.
func Indexes() []Index {
	return []Index{
		{&ferryv1.Promotion{}, indexAppStage, func(o client.Object) []string {
			p := o.(*ferryv1.Promotion)
			return []string{p.Spec.Application + "/" + p.Spec.Stage}
		}},
		{&ferryv1.Promotion{}, indexApp, func(o client.Object) []string {
			return []string{o.(*ferryv1.Promotion).Spec.Application}
		}},
		{&ferryv1.Release{}, indexApp, func(o client.Object) []string {
			return []string{o.(*ferryv1.Release).Spec.Application}
		}},
	}
}

// Transform trims an object before the cache keeps it to what the API shows: without
// managed fields, app files (up to 256 KiB each) or Promotion outboxes, a server
// following ten thousand Releases holds megabytes rather than gigabytes. A Release
// keeps the namespace of each stage, read from its app file here once.
func Transform(obj any) (any, error) {
	o, ok := obj.(client.Object)
	if !ok {
		return obj, nil
	}
	o.SetManagedFields(nil)
	switch t := o.(type) {
	case *ferryv1.Application:
		t.Spec.AppFile = ""
	case *ferryv1.Release:
		keepStageNamespaces(t)
		t.Spec.AppFile = ""
	case *ferryv1.Promotion:
		t.Status.Outbox, t.Status.Deliveries = nil, nil
	}
	return obj, nil
}

// keepStageNamespaces notes the Release's namespace in each stage of its app file; a
// file that does not load notes none (the controller reports it).
func keepStageNamespaces(rel *ferryv1.Release) {
	if rel.Spec.AppFile == "" {
		return
	}
	f, err := appfile.LoadBytes("release "+rel.Name, []byte(rel.Spec.AppFile), "", appfile.Options{})
	if err != nil {
		return
	}
	ns := map[string]string{"": f.App.Deploy.Namespace} // a stage the file does not name
	for _, s := range f.App.AllStages() {
		ns[s.Name] = f.App.ForStage(s.Name).Deploy.Namespace
	}
	b, err := json.Marshal(ns)
	if err != nil {
		return
	}
	ann := map[string]string{annotationStageNamespaces: string(b)}
	for k, v := range rel.Annotations {
		ann[k] = v
	}
	rel.Annotations = ann
}

// stageNamespace is where the cached Release of the application deploys in the stage:
// its preview's namespace for a pull request or branch, else the stage's from its app
// file.
func stageNamespace(app string, rel *ferryv1.Release, stage string) string {
	if ns := preview.Namespace(app, rel); ns != "" {
		return ns
	}
	var ns map[string]string
	_ = json.Unmarshal([]byte(rel.Annotations[annotationStageNamespaces]), &ns)
	if n, ok := ns[stage]; ok {
		return n
	}
	return ns[""]
}
