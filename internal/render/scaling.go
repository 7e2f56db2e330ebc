package render

import (
	"strconv"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"ferry.dev/ferry/internal/appfile"
)

// scaling returns the scaling settings when they are enabled.
func (p *plan) scaling() *appfile.Scaling {
	s := p.values.Scaling
	if s == nil || (s.Enabled != nil && !*s.Enabled) {
		return nil
	}
	return s
}

// usesKEDA reports whether scaling needs KEDA: Prometheus queries or cron windows. KEDA
// then owns the HorizontalPodAutoscaler, so no plain one is rendered.
func (p *plan) usesKEDA() bool {
	s := p.scaling()
	return s != nil && ((s.Custom != nil && *s.Custom && len(s.PrometheusQueries) > 0) || s.CronScale != nil)
}

func (p *plan) minMax() (int32, int32) {
	s := p.scaling()
	lo, hi := p.replicas(), p.replicas()
	if s.Max != nil {
		hi = int32(*s.Max) //nolint:gosec // validated to at most 10000
	}
	if hi < lo {
		hi = lo
	}
	return lo, hi
}

// hpa scales on CPU (autoscaling/v2) when cpuPercent is set and KEDA is not needed.
func (p *plan) hpa() *autoscalingv2.HorizontalPodAutoscaler {
	s := p.scaling()
	if s == nil || s.CPUPercent == nil || p.usesKEDA() {
		return nil
	}
	tm, om := p.meta("HorizontalPodAutoscaler", "autoscaling/v2")
	lo, hi := p.minMax()
	target := int32(*s.CPUPercent) //nolint:gosec // validated to 1-100
	return &autoscalingv2.HorizontalPodAutoscaler{
		TypeMeta:   tm,
		ObjectMeta: om,
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: p.name},
			MinReplicas:    &lo,
			MaxReplicas:    hi,
			Metrics: []autoscalingv2.MetricSpec{{
				Type: autoscalingv2.ResourceMetricSourceType,
				Resource: &autoscalingv2.ResourceMetricSource{
					Name:   corev1.ResourceCPU,
					Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: &target},
				},
			}},
		},
	}
}

// scaledObject is KEDA's keda.sh/v1alpha1 ScaledObject: a prometheus trigger per query,
// a cron trigger for the scale-up window, and the CPU trigger when cpuPercent is set.
func (p *plan) scaledObject() *unstructured.Unstructured {
	if !p.usesKEDA() {
		return nil
	}
	s := p.scaling()
	lo, hi := p.minMax()
	var triggers []any
	if s.Custom != nil && *s.Custom {
		for _, name := range sortedKeys(s.PrometheusQueries) {
			q := s.PrometheusQueries[name]
			triggers = append(triggers, map[string]any{
				"type": "prometheus",
				"name": name,
				"metadata": map[string]any{
					"serverAddress": p.in.Cluster.PrometheusURL,
					"query":         q.QueryContent,
					"threshold":     q.TargetAverageValue,
				},
			})
		}
	}
	if c := s.CronScale; c != nil && c.ScaleUp != nil && c.ScaleDown != nil {
		desired := lo
		if c.ScaleUp.Min != nil {
			desired = int32(*c.ScaleUp.Min) //nolint:gosec // validated
		}
		if c.ScaleUp.Max != nil && int32(*c.ScaleUp.Max) > hi { //nolint:gosec // validated
			hi = int32(*c.ScaleUp.Max) //nolint:gosec // validated
		}
		if c.ScaleDown.Min != nil && int32(*c.ScaleDown.Min) < lo { //nolint:gosec // validated
			lo = int32(*c.ScaleDown.Min) //nolint:gosec // validated
		}
		triggers = append(triggers, map[string]any{
			"type": "cron",
			"name": "scale-up-window",
			"metadata": map[string]any{
				"timezone":        "Etc/UTC",
				"start":           string(c.ScaleUp.Schedule),
				"end":             string(c.ScaleDown.Schedule),
				"desiredReplicas": strconv.Itoa(int(desired)),
			},
		})
	}
	if s.CPUPercent != nil {
		triggers = append(triggers, map[string]any{
			"type": "cpu", "metricType": "Utilization",
			"metadata": map[string]any{"value": strconv.Itoa(*s.CPUPercent)},
		})
	}
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "keda.sh/v1alpha1",
		"kind":       "ScaledObject",
		"metadata":   p.unstructuredMeta(),
		"spec": map[string]any{
			"scaleTargetRef":  map[string]any{"apiVersion": "apps/v1", "kind": "Deployment", "name": p.name},
			"minReplicaCount": int64(lo),
			"maxReplicaCount": int64(hi),
			"triggers":        triggers,
		},
	}}
}

func (p *plan) unstructuredMeta() map[string]any {
	labels := map[string]any{}
	for k, v := range p.labels() {
		labels[k] = v
	}
	return map[string]any{"name": p.name, "namespace": p.namespace, "labels": labels}
}
