// Package kubestate stands in for kube-state-metrics on the dev cluster only. It watches
// pods and Deployments through the Kubernetes API and serves, for Prometheus to scrape,
// the few series that Ferry's default alert rules read, under kube-state-metrics' own
// names and labels, computed the way kube-state-metrics v2 computes them.
//
// A real cluster runs kube-state-metrics itself. The dev cluster cannot: its Go module is
// not served by the module proxy it builds from, and Debian does not package it.
package kubestate

import (
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

// Metric names, exactly as kube-state-metrics exposes them.
const (
	restartsTotal        = "kube_pod_container_status_restarts_total"
	waitingReason        = "kube_pod_container_status_waiting_reason"
	lastTerminatedReason = "kube_pod_container_status_last_terminated_reason"
	podStatusReady       = "kube_pod_status_ready"
	deploymentCondition  = "kube_deployment_status_condition"
)

// sample is one series: its metric, its label values (in the order of the metric's
// label names, see labelNames) and its value.
type sample struct {
	metric string
	values []string
	value  float64
}

// labelNames are each metric's labels in kube-state-metrics' order: the object's
// identity first (namespace, pod, uid or namespace, deployment), then its own.
var labelNames = map[string][]string{
	restartsTotal:        {"namespace", "pod", "uid", "container"},
	waitingReason:        {"namespace", "pod", "uid", "container", "reason"},
	lastTerminatedReason: {"namespace", "pod", "uid", "container", "reason"},
	podStatusReady:       {"namespace", "pod", "uid", "condition"},
	deploymentCondition:  {"namespace", "deployment", "reason", "condition", "status"},
}

// podSamples are the series of one pod. Only its app containers count: kube-state-metrics
// reports init containers under other names.
func podSamples(p *corev1.Pod) []sample {
	id := []string{p.Namespace, p.Name, string(p.UID)}
	with := func(extra ...string) []string { return append(append([]string{}, id...), extra...) }
	var out []sample
	for _, cs := range p.Status.ContainerStatuses {
		out = append(out, sample{restartsTotal, with(cs.Name), float64(cs.RestartCount)})
		// Only the reason the container waits for now; none while it runs.
		if w := cs.State.Waiting; w != nil {
			out = append(out, sample{waitingReason, with(cs.Name, w.Reason), 1})
		}
		if t := cs.LastTerminationState.Terminated; t != nil {
			out = append(out, sample{lastTerminatedReason, with(cs.Name, t.Reason), 1})
		}
	}
	for _, c := range p.Status.Conditions {
		if c.Type != corev1.PodReady {
			continue
		}
		for _, s := range conditionSamples(string(c.Status)) {
			out = append(out, sample{podStatusReady, with(s.status), s.value})
		}
	}
	return out
}

// deploymentReasons are the condition reasons the deployment controller writes;
// kube-state-metrics reports any other as "unknown" to bound the label's values.
var deploymentReasons = map[string]bool{
	"ReplicaSetUpdated": true, "ReplicaSetCreateError": true, "NewReplicaSetCreated": true,
	"FoundNewReplicaSet": true, "NewReplicaSetAvailable": true, "ProgressDeadlineExceeded": true,
	"DeploymentPaused": true, "DeploymentResumed": true, "MinimumReplicasAvailable": true,
	"MinimumReplicasUnavailable": true, "": true,
}

// deploymentSamples are the condition series of one Deployment: three per condition,
// one for each status, the one that holds set to 1.
func deploymentSamples(d *appsv1.Deployment) []sample {
	var out []sample
	for _, c := range d.Status.Conditions {
		reason := c.Reason
		if !deploymentReasons[reason] {
			reason = "unknown"
		}
		for _, s := range conditionSamples(string(c.Status)) {
			out = append(out, sample{deploymentCondition, []string{d.Namespace, d.Name, reason, string(c.Type), s.status}, s.value})
		}
	}
	return out
}

type statusSample struct {
	status string
	value  float64
}

// conditionSamples spreads a condition's status over the three label values
// kube-state-metrics uses (true, false, unknown), as its addConditionMetrics does.
func conditionSamples(status string) []statusSample {
	out := []statusSample{{"true", 0}, {"false", 0}, {"unknown", 0}}
	switch strings.ToLower(status) {
	case "true":
		out[0].value = 1
	case "false":
		out[1].value = 1
	default:
		out[2].value = 1
	}
	return out
}
