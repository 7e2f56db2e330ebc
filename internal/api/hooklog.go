package api

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
	"ferry.dev/ferry/internal/hooklog"
)

// getHookLog is the kept log of one hook of a Promotion as text (?step= picks one step
// when a hook of that name ran in several), shown to whoever may get the Promotion: the
// log is the Promotion's own record. Only ConfigMaps the Promotion owns are read, so a
// status naming another ConfigMap shows nothing of it.
func (a *API) getHookLog(w http.ResponseWriter, r *http.Request) {
	ns, name, hook := r.PathValue("ns"), r.PathValue("name"), r.PathValue("hook")
	if !a.allow(w, r, Access{Verb: "get", Resource: "promotions", Namespace: ns, Name: name}) {
		return
	}
	p := &ferryv1.Promotion{}
	if err := a.Client.Get(r.Context(), client.ObjectKey{Namespace: ns, Name: name}, p); err != nil {
		a.readFailed(w, r, "promotion "+ns+"/"+name, err)
		return
	}
	kept, err := a.keptLogs(r.Context(), p, r.URL.Query().Get("step"), hook)
	if err != nil {
		a.readFailed(w, r, "the log of hook "+hook, err)
		return
	}
	if len(kept) == 0 {
		writeError(w, http.StatusNotFound, "no log kept for hook "+quote(hook)+" of promotion "+ns+"/"+name)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write([]byte(logText(kept)))
}

// keptLogs reads the logs the Promotion's status names for the hook (of the step when
// given), in the order the hooks ran.
func (a *API) keptLogs(ctx context.Context, p *ferryv1.Promotion, step, hook string) ([]hooklog.Kept, error) {
	var kept []hooklog.Kept
	for _, h := range p.Status.Hooks {
		if h.Name != hook || (step != "" && h.Step != step) {
			continue
		}
		for _, cmName := range h.Logs {
			cm, err := a.Kube.CoreV1().ConfigMaps(p.Namespace).Get(ctx, cmName, metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				continue
			}
			if err != nil {
				return nil, err
			}
			if ownedBy(cm, p) {
				kept = append(kept, hooklog.FromConfigMap(cm))
			}
		}
	}
	return kept, nil
}

// ownedBy says whether the Promotion owns the ConfigMap, as it owns the logs it keeps.
func ownedBy(cm *corev1.ConfigMap, p *ferryv1.Promotion) bool {
	for _, o := range cm.OwnerReferences {
		if o.UID == p.UID && o.Kind == "Promotion" {
			return true
		}
	}
	return false
}

// logText is one log as kept, or several each under a line naming its step and cluster.
func logText(kept []hooklog.Kept) string {
	if len(kept) == 1 && kept[0].Err == "" {
		return kept[0].Log
	}
	var b strings.Builder
	for _, k := range kept {
		fmt.Fprintf(&b, "==> %s %s in cluster %s <==\n", k.Step, k.Hook, k.Cluster)
		if k.Err != "" {
			fmt.Fprintf(&b, "(no log kept: %s)\n", k.Err)
		}
		b.WriteString(k.Log)
		if k.Log != "" && !strings.HasSuffix(k.Log, "\n") {
			b.WriteString("\n")
		}
	}
	return b.String()
}
