package promotion

import (
	"context"
	"fmt"
	"slices"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/log"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
	"ferry.dev/ferry/internal/appfile"
	"ferry.dev/ferry/internal/hooklog"
)

// The log is read in the target cluster, and kept in the Promotion's.
// +kubebuilder:rbac:groups="",resources=pods,verbs=list
// +kubebuilder:rbac:groups="",resources=pods/log,verbs=get
// +kubebuilder:rbac:groups="",resources=configmaps,verbs=create

// Bounds of the log lines a failed hook's message ends with: the message goes into
// Events too, whose note the API server caps at 1 KiB.
const (
	failureLines     = 5
	failureLineWidth = 120
)

// keepLog keeps the log of a hook's ended Job in one target cluster, once, in a
// ConfigMap owned by the Promotion (hooklog.Name; `ferry logs` prints it), unless the
// hook sets fetchJobLogsAfterPolling: false. It records the ConfigMap in the hook's
// status, so the log is not read again. It returns what a failure message adds: the
// log's last lines, or why it could not be read. A log that cannot be kept never fails
// the hook: the hook's status says so, and the next look at the hook tries again.
func (r *Reconciler) keepLog(ctx context.Context, f *facts, hs *ferryv1.HookStatus, h *appfile.JobHook, cs kubernetes.Interface, job *batchv1.Job, cluster string, several bool) string {
	if h.FetchJobLogsAfterPolling != nil && !*h.FetchJobLogsAfterPolling {
		return ""
	}
	suffix := ""
	if several {
		suffix = cluster
	}
	name := hooklog.Name(f.prom.Name, hs.Step, hs.Name, suffix)
	if slices.Contains(hs.Logs, name) {
		return ""
	}
	fetch := r.Logs
	if fetch == nil {
		fetch = hooklog.Fetch
	}
	text, err := fetch(ctx, cs, job.Namespace, job.Name)
	kept := hooklog.Kept{Promotion: f.prom.Name, Step: hs.Step, Hook: hs.Name, Job: job.Namespace + "/" + job.Name, Cluster: cluster, Log: text}
	if err != nil {
		kept.Err = err.Error()
	}
	cm := kept.ConfigMap(f.prom.Namespace, name)
	err = controllerutil.SetOwnerReference(f.prom, cm, r.Scheme())
	if err == nil {
		err = r.Create(ctx, cm)
	}
	if err != nil && !apierrors.IsAlreadyExists(err) {
		log.FromContext(ctx).Error(err, "keeping a hook's log", "hook", hs.Name, "step", hs.Step, "configMap", name)
		hs.Message = "its log could not be kept: " + err.Error()
	} else {
		hs.Logs = append(hs.Logs, name)
	}
	return logEnd(kept)
}

// logEnd is the end of a kept log for a one-line message, each line quoted so that
// what a hook printed cannot pass for Ferry's words or reach a terminal raw.
func logEnd(k hooklog.Kept) string {
	if k.Err != "" {
		return "; its log could not be read: " + k.Err
	}
	lines := hooklog.LastLines(k.Log, failureLines, failureLineWidth)
	if len(lines) == 0 {
		return ""
	}
	quoted := make([]string, len(lines))
	for i, l := range lines {
		quoted[i] = fmt.Sprintf("%q", l)
	}
	return "; its log ends: " + strings.Join(quoted, " ")
}
