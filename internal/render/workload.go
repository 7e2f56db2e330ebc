package render

import (
	"strconv"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/intstr"

	"ferry.dev/ferry/internal/appfile"
	"ferry.dev/ferry/internal/traffic"
)

func (p *plan) meta(kind, apiVersion string) (metav1.TypeMeta, metav1.ObjectMeta) {
	return metav1.TypeMeta{Kind: kind, APIVersion: apiVersion},
		metav1.ObjectMeta{Name: p.name, Namespace: p.namespace, Labels: p.labels()}
}

func (p *plan) serviceAccount() *corev1.ServiceAccount {
	tm, om := p.meta("ServiceAccount", "v1")
	return &corev1.ServiceAccount{TypeMeta: tm, ObjectMeta: om}
}

// replicas is the starting replica count: the scaling minimum, or 1.
func (p *plan) replicas() int32 {
	if s := p.values.Scaling; s != nil && s.Min != nil && *s.Min > 0 {
		return int32(*s.Min) //nolint:gosec // validated to at most 10000
	}
	return 1
}

// preStopSeconds is how long a pod keeps serving after it is told to stop.
const preStopSeconds = 3

func (p *plan) deployment() *appsv1.Deployment {
	tm, om := p.meta("Deployment", "apps/v1")
	replicas := p.replicas()
	podLabels := p.labels()
	container := corev1.Container{
		Name:           p.name,
		Image:          p.image,
		Ports:          []corev1.ContainerPort{{Name: "http", ContainerPort: p.port, Protocol: corev1.ProtocolTCP}},
		Env:            p.env(),
		LivenessProbe:  probe(p.values.LivenessProbe),
		ReadinessProbe: probe(p.values.ReadinessProbe),
		Resources:      p.resources(),
		// A pod being removed keeps serving while the Service's endpoints and each node's
		// proxy forget it, so a switch, a scale-down or a rollout loses no request.
		Lifecycle: &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{Sleep: &corev1.SleepAction{Seconds: preStopSeconds}}},
	}
	return &appsv1.Deployment{
		TypeMeta:   tm,
		ObjectMeta: om,
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: p.selector()},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: podLabels, Annotations: p.scrapeAnnotations()},
				Spec: corev1.PodSpec{
					ServiceAccountName: p.name,
					Containers:         []corev1.Container{container},
					NodeSelector:       p.values.NodeSelector,
					Tolerations:        p.tolerations(),
				},
			},
		},
	}
}

// tolerations are the taints the pods accept, as the values write them.
func (p *plan) tolerations() []corev1.Toleration {
	var out []corev1.Toleration
	for _, t := range p.values.Tolerations {
		out = append(out, corev1.Toleration{Key: t.Key, Operator: corev1.TolerationOperator(t.Operator), Value: t.Value, Effect: corev1.TaintEffect(t.Effect)})
	}
	return out
}

// env is the container's environment in name order, with the version always present.
func (p *plan) env() []corev1.EnvVar {
	env := []corev1.EnvVar{{Name: "FERRY_VERSION", Value: p.in.Version}}
	for _, k := range sortedKeys(p.values.Env) {
		env = append(env, corev1.EnvVar{Name: k, Value: p.values.Env[k]})
	}
	return env
}

// probe turns a probe setting into an HTTP probe on the http port; a probe section is on
// unless it says enabled: false.
func probe(pr *appfile.Probe) *corev1.Probe {
	if pr == nil || (pr.Enabled != nil && !*pr.Enabled) {
		return nil
	}
	path := pr.Path
	if path == "" {
		path = "/health"
	}
	period := int32(10)
	if pr.ProbeInterval != nil {
		period = int32(*pr.ProbeInterval) //nolint:gosec // validated to 1-3600
	}
	return &corev1.Probe{
		ProbeHandler:  corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: path, Port: intstr.FromString("http")}},
		PeriodSeconds: period,
	}
}

// resources takes requests from min and limits from max.
func (p *plan) resources() corev1.ResourceRequirements {
	var r corev1.ResourceRequirements
	if m := p.values.Min; m != nil {
		r.Requests = resourceList(m)
	}
	if m := p.values.Max; m != nil {
		r.Limits = resourceList(m)
	}
	return r
}

func resourceList(r *appfile.Resources) corev1.ResourceList {
	l := corev1.ResourceList{}
	if r.CPU != "" {
		l[corev1.ResourceCPU] = resource.MustParse(string(r.CPU))
	}
	if r.Memory != "" {
		l[corev1.ResourceMemory] = resource.MustParse(string(r.Memory))
	}
	if len(l) == 0 {
		return nil
	}
	return l
}

// metrics returns the metrics settings when they are enabled.
func (p *plan) metrics() *appfile.Metrics {
	g := p.values.Global
	if g == nil || g.Metrics == nil || (g.Metrics.Enabled != nil && !*g.Metrics.Enabled) {
		return nil
	}
	return g.Metrics
}

// metricsEndpoint is the first endpoint, defaulting to the http port and /metrics.
func (p *plan) metricsEndpoint() (int32, string) {
	port, path := p.port, "/metrics"
	if m := p.metrics(); m != nil && len(m.Endpoints) > 0 {
		e := m.Endpoints[0]
		if e.TargetPort != nil {
			port = int32(*e.TargetPort) //nolint:gosec // validated to 1-65535
		}
		if e.Path != "" {
			path = e.Path
		}
	}
	return port, path
}

// scrapeAnnotations are the prometheus.io annotations annotation-based scrapers read.
func (p *plan) scrapeAnnotations() map[string]string {
	m := p.metrics()
	if m == nil {
		return nil
	}
	port, path := p.metricsEndpoint()
	a := map[string]string{
		"prometheus.io/scrape": "true",
		"prometheus.io/port":   strconv.Itoa(int(port)),
		"prometheus.io/path":   path,
	}
	if len(m.Whitelist) > 0 {
		a["ferry.dev/metrics-whitelist"] = strings.Join(m.Whitelist, ",")
	}
	return a
}

func (p *plan) service() *corev1.Service {
	tm, om := p.meta("Service", "v1")
	return &corev1.Service{
		TypeMeta:   tm,
		ObjectMeta: om,
		Spec: corev1.ServiceSpec{
			Selector: p.selector(),
			Ports:    []corev1.ServicePort{{Name: "http", Port: ServicePort, TargetPort: intstr.FromString("http"), Protocol: corev1.ProtocolTCP}},
		},
	}
}

// host is the name the application answers at, ARTIFACT.NAMESPACE.DOMAIN, when the
// cluster has a domain.
func (p *plan) host() string {
	if len(p.in.Cluster.Hosts) == 0 {
		return ""
	}
	return p.name + "." + p.namespace + "." + p.in.Cluster.Hosts[0]
}

// httpRoute attaches the Service to the cluster's Gateway, when it has one, at the
// application's host (every host without a domain). Canaries and A/B tests change its
// rules; this is the steady state.
func (p *plan) httpRoute() *unstructured.Unstructured {
	gw := p.in.Cluster.Gateway
	if gw == nil {
		return nil
	}
	r := traffic.Route{Name: p.name, Namespace: p.namespace, Labels: p.labels(), Gateway: *gw,
		Backends: []traffic.Backend{{Service: p.name, Port: ServicePort, Weight: 1}}}
	if h := p.host(); h != "" {
		r.Hostnames = []string{h}
	}
	return r.Object()
}

// ServicePort is the port of the application's Service.
const ServicePort = 80

// ingress exposes the Service at ARTIFACT.NAMESPACE.DOMAIN when the cluster has a domain.
func (p *plan) ingress() *networkingv1.Ingress {
	host := p.host()
	if host == "" {
		return nil
	}
	tm, om := p.meta("Ingress", "networking.k8s.io/v1")
	pathType := networkingv1.PathTypePrefix
	return &networkingv1.Ingress{
		TypeMeta:   tm,
		ObjectMeta: om,
		Spec: networkingv1.IngressSpec{Rules: []networkingv1.IngressRule{{
			Host: host,
			IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{Paths: []networkingv1.HTTPIngressPath{{
				Path: "/", PathType: &pathType,
				Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: p.name, Port: networkingv1.ServiceBackendPort{Name: "http"}}},
			}}}},
		}}},
	}
}

// pdb keeps all but one replica up during voluntary disruptions, when there are several.
func (p *plan) pdb() *policyv1.PodDisruptionBudget {
	if p.replicas() < 2 {
		return nil
	}
	tm, om := p.meta("PodDisruptionBudget", "policy/v1")
	one := intstr.FromInt32(1)
	return &policyv1.PodDisruptionBudget{
		TypeMeta:   tm,
		ObjectMeta: om,
		Spec:       policyv1.PodDisruptionBudgetSpec{MaxUnavailable: &one, Selector: &metav1.LabelSelector{MatchLabels: p.selector()}},
	}
}
