package kubestate

import (
	"sort"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/labels"
	appslisters "k8s.io/client-go/listers/apps/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
)

// helps are kube-state-metrics' help texts.
var helps = map[string]string{
	restartsTotal:        "The number of container restarts per container.",
	waitingReason:        "Describes the reason the container is currently in waiting state.",
	lastTerminatedReason: "Describes the last reason the container was in terminated state.",
	podStatusReady:       "Describes whether the pod is ready to serve requests.",
	deploymentCondition:  "The current status conditions of a deployment.",
}

// Collector computes the series from the informers' caches at each scrape, so a scrape
// always shows the objects as the API server last told us.
type Collector struct {
	pods        corelisters.PodLister
	deployments appslisters.DeploymentLister
	descs       map[string]*prometheus.Desc
}

// NewCollector reads pods and Deployments from the listers.
func NewCollector(pods corelisters.PodLister, deployments appslisters.DeploymentLister) *Collector {
	descs := map[string]*prometheus.Desc{}
	for name, lbls := range labelNames {
		descs[name] = prometheus.NewDesc(name, helps[name], lbls, nil)
	}
	return &Collector{pods: pods, deployments: deployments, descs: descs}
}

// Describe sends the descriptions of the five metrics.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	names := make([]string, 0, len(c.descs))
	for n := range c.descs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		ch <- c.descs[n]
	}
}

// Collect sends one metric per series; a lister error yields an invalid metric, which
// fails the scrape rather than showing a partial picture.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	var samples []sample
	pods, err := c.pods.List(labels.Everything())
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.descs[podStatusReady], err)
		return
	}
	for _, p := range pods {
		samples = append(samples, podSamples(p)...)
	}
	deps, err := c.deployments.List(labels.Everything())
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.descs[deploymentCondition], err)
		return
	}
	for _, d := range deps {
		samples = append(samples, deploymentSamples(d)...)
	}
	for _, s := range samples {
		kind := prometheus.GaugeValue
		if s.metric == restartsTotal {
			kind = prometheus.CounterValue
		}
		m, err := prometheus.NewConstMetric(c.descs[s.metric], kind, s.value, s.values...)
		if err != nil {
			m = prometheus.NewInvalidMetric(c.descs[s.metric], err)
		}
		ch <- m
	}
}
