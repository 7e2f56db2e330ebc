// Package render turns an application's settings for one stage, cluster and version into
// the Kubernetes objects that run it: Deployment, Service, ServiceAccount, Ingress,
// PodDisruptionBudget, autoscaling (HorizontalPodAutoscaler, or a KEDA ScaledObject for
// Prometheus-query and cron scaling), a PodMonitor for its metrics, and its default alert
// rules as a PrometheusRule and as a plain Prometheus rule file, with an
// AlertmanagerConfig that routes them to the app's alert channels.
package render

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sort"

	yaml "go.yaml.in/yaml/v3"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"ferry.dev/ferry/internal/appfile"
	"ferry.dev/ferry/internal/helmchart"
	"ferry.dev/ferry/internal/traffic"
)

// Cluster is what rendering needs to know of the target cluster.
type Cluster struct {
	// Name is the cluster's id, as in a stage's target.
	Name string
	// Hosts are the cluster's ingress domains; the first one names the Ingress host.
	Hosts []string
	// PrometheusURL is the Prometheus that KEDA's prometheus triggers query.
	PrometheusURL string
	// Gateway, when set, is the Gateway the application's HTTPRoute attaches to.
	Gateway *traffic.Gateway
}

// Input is one rendering: an application, a stage of it, a cluster and a version.
type Input struct {
	App     *appfile.App
	Stage   string
	Cluster Cluster
	Version string
	// Image is the image to run; empty means values.image, or ARTIFACT:VERSION.
	Image string
	// Dir is the app file's directory, where a local chart path starts.
	Dir string
	// Application is the Application's name, labelled on every object so the
	// controller can tell whose rollout changed (empty: no label).
	Application string
}

// Labels that every object carries (the recommended app.kubernetes.io set).
const (
	labelName      = "app.kubernetes.io/name"
	labelInstance  = "app.kubernetes.io/instance"
	labelVersion   = "app.kubernetes.io/version"
	labelManagedBy = "app.kubernetes.io/managed-by"
	labelPartOf    = "app.kubernetes.io/part-of"
	labelStage     = "ferry.dev/stage"
	// LabelApplication names the Application whose delivery wrote the object.
	LabelApplication = "ferry.dev/application"
)

// plan is the resolved input every object is built from.
type plan struct {
	in        Input
	name      string
	namespace string
	stage     appfile.Stage
	values    appfile.Values
	image     string
	port      int32
}

func newPlan(in Input) (*plan, error) {
	if in.App == nil {
		return nil, fmt.Errorf("no app to render")
	}
	stage, values, err := in.App.Stage(in.Stage)
	if err != nil {
		return nil, err
	}
	name := in.App.Build.Artifact
	if name == "" {
		return nil, fmt.Errorf("build.artifact is required to render objects")
	}
	ns := in.App.Deploy.Namespace
	if ns == "" {
		return nil, fmt.Errorf("deploy.namespace is required to render objects")
	}
	if in.Version == "" {
		return nil, fmt.Errorf("a version is required to render objects")
	}
	p := &plan{in: in, name: name, namespace: ns, stage: stage, values: values, port: 8080}
	if values.Port != nil {
		p.port = int32(*values.Port) //nolint:gosec // validated to 1-65535
	}
	switch {
	case in.Image != "":
		p.image = in.Image
	case values.Image != "":
		p.image = values.Image
	default:
		p.image = name + ":" + in.Version
	}
	return p, nil
}

func (p *plan) labels() map[string]string {
	l := map[string]string{
		labelName: p.name, labelInstance: p.name, labelVersion: p.in.Version,
		labelManagedBy: "ferry", labelPartOf: p.name, labelStage: p.in.Stage,
	}
	if p.in.Application != "" {
		l[LabelApplication] = p.in.Application
	}
	return l
}

// selector is the part of the labels that never changes between versions.
func (p *plan) selector() map[string]string {
	return map[string]string{labelName: p.name, labelInstance: p.name}
}

// Objects renders every object for the input, in apply order: the built-in objects, or
// the app's chart rendered with the stage's values.
func Objects(ctx context.Context, in Input) ([]*unstructured.Unstructured, error) {
	p, err := newPlan(in)
	if err != nil {
		return nil, err
	}
	if h := in.App.Deploy.Helm; h.Chart != "" {
		return p.chartObjects(ctx, helmchart.Ref{Chart: h.Chart, Repo: h.Repo, Version: h.Version, Dir: in.Dir})
	}
	typed := []runtime.Object{p.serviceAccount(), p.deployment(), p.service()}
	if ing := p.ingress(); ing != nil {
		typed = append(typed, ing)
	}
	if pdb := p.pdb(); pdb != nil {
		typed = append(typed, pdb)
	}
	if hpa := p.hpa(); hpa != nil {
		typed = append(typed, hpa)
	}
	var out []*unstructured.Unstructured
	for _, o := range typed {
		u, err := toUnstructured(o)
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	for _, u := range []*unstructured.Unstructured{p.httpRoute(), p.scaledObject(), p.podMonitor(), p.prometheusRule(), p.alertmanagerConfig()} {
		if u != nil {
			out = append(out, u)
		}
	}
	return out, nil
}

// chartObjects renders the chart with the stage's values, marking each object with the
// stage and version it belongs to.
func (p *plan) chartObjects(ctx context.Context, ref helmchart.Ref) ([]*unstructured.Unstructured, error) {
	ch, err := helmchart.Load(ctx, ref)
	if err != nil {
		return nil, err
	}
	objs, err := helmchart.Render(ch, p.name, p.namespace, p.in.App.PlainValues(p.in.Stage))
	if err != nil {
		return nil, err
	}
	for _, o := range objs {
		labels := o.GetLabels()
		if labels == nil {
			labels = map[string]string{}
		}
		labels[labelStage] = p.in.Stage
		labels["ferry.dev/version"] = p.in.Version
		if p.in.Application != "" {
			labels[LabelApplication] = p.in.Application
		}
		o.SetLabels(labels)
	}
	return objs, nil
}

func toUnstructured(o runtime.Object) (*unstructured.Unstructured, error) {
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(o)
	if err != nil {
		return nil, err
	}
	u := &unstructured.Unstructured{Object: m}
	// Rendered objects carry no status and no server-set fields.
	delete(u.Object, "status")
	unstructured.RemoveNestedField(u.Object, "metadata", "creationTimestamp")
	unstructured.RemoveNestedField(u.Object, "spec", "template", "metadata", "creationTimestamp")
	return u, nil
}

// YAML writes objects as a multi-document stream that kubectl apply -f - accepts. It
// encodes the objects' maps directly (keys sorted), without a detour through JSON.
func YAML(objs []*unstructured.Unstructured) ([]byte, error) {
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	for _, o := range objs {
		if err := enc.Encode(o.Object); err != nil {
			return nil, err
		}
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// YAMLDoc writes one value as a YAML document.
func YAMLDoc(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	err := enc.Close()
	return b.Bytes(), err
}

// JSON writes objects as a v1 List.
func JSON(objs []*unstructured.Unstructured) ([]byte, error) {
	items := make([]map[string]any, len(objs))
	for i, o := range objs {
		items[i] = o.Object
	}
	return json.MarshalIndent(map[string]any{"apiVersion": "v1", "kind": "List", "items": items}, "", "  ")
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
