package hooklog

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
)

// DataKey is the ConfigMap key that holds the log.
const DataKey = "log"

// Annotations of a kept log's ConfigMap.
const (
	// AnnotationJob is the hook's Job, as namespace/name in its target cluster.
	AnnotationJob = "ferry.dev/hook-job"
	// AnnotationCluster is the target cluster the Job ran in.
	AnnotationCluster = "ferry.dev/cluster"
	// AnnotationError says why no log was kept (the pod was gone, its container never
	// started); the ConfigMap then holds an empty log.
	AnnotationError = "ferry.dev/log-error"
)

// Kept is the log of one hook Job in one target cluster.
type Kept struct {
	// Promotion, Step and Hook name the hook: its Promotion, the checkpoint it ran in
	// (preDeploy, postDeploy, tests, rollbackTests) and its name in the app file.
	Promotion, Step, Hook string
	// Job is the Job as namespace/name.
	Job string
	// Cluster is the target cluster the Job ran in.
	Cluster string
	// Log is the end of the log, as Tail keeps it.
	Log string
	// Err says why there is no log.
	Err string
}

// Name is the name of the ConfigMap that keeps a hook's log: promotion-step-hook, and
// the cluster when the stage has several. A name that is not a valid object name as it
// stands, or is longer than one may be, is made valid and given a hash of the whole so
// that two hooks do not share one.
func Name(promotion, step, hook, cluster string) string {
	whole := promotion + "-" + step + "-" + hook
	if cluster != "" {
		whole += "-" + cluster
	}
	name := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-', r == '.':
			return r
		case r >= 'A' && r <= 'Z':
			return r - 'A' + 'a'
		default:
			return '-'
		}
	}, whole)
	// Steps are camelCase (preDeploy): lower-casing them alone needs no hash.
	if name == strings.ToLower(whole) && len(validation.IsDNS1123Subdomain(name)) == 0 {
		return name
	}
	sum := sha256.Sum256([]byte(whole))
	suffix := "-" + hex.EncodeToString(sum[:4])
	name = strings.Trim(name, "-.")
	if len(name) > validation.DNS1123SubdomainMaxLength-len(suffix) {
		name = strings.TrimRight(name[:validation.DNS1123SubdomainMaxLength-len(suffix)], "-.")
	}
	return name + suffix
}

// ConfigMap is the ConfigMap that keeps k, in namespace ns (the Promotion's) under the
// given name; the caller makes the Promotion its owner.
func (k Kept) ConfigMap(ns, name string) *corev1.ConfigMap {
	ann := map[string]string{AnnotationJob: k.Job, AnnotationCluster: k.Cluster}
	if k.Err != "" {
		ann[AnnotationError] = k.Err
	}
	return &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Annotations: ann, Labels: map[string]string{
			ferryv1.LabelPromotion: k.Promotion, ferryv1.LabelStep: k.Step, ferryv1.LabelHook: k.Hook}},
		Data: map[string]string{DataKey: k.Log},
	}
}

// FromConfigMap reads a kept log back.
func FromConfigMap(cm *corev1.ConfigMap) Kept {
	return Kept{
		Promotion: cm.Labels[ferryv1.LabelPromotion], Step: cm.Labels[ferryv1.LabelStep], Hook: cm.Labels[ferryv1.LabelHook],
		Job: cm.Annotations[AnnotationJob], Cluster: cm.Annotations[AnnotationCluster],
		Log: cm.Data[DataKey], Err: cm.Annotations[AnnotationError],
	}
}

// List returns the logs kept for a Promotion in namespace ns, only of the given step
// and hook when those are set, in the order of the Promotion's status.hooks (the order
// the hooks ran in), then by cluster.
func List(ctx context.Context, c client.Reader, ns string, prom *ferryv1.Promotion, step, hook string) ([]Kept, error) {
	labels := client.MatchingLabels{ferryv1.LabelPromotion: prom.Name}
	if step != "" {
		labels[ferryv1.LabelStep] = step
	}
	if hook != "" {
		labels[ferryv1.LabelHook] = hook
	}
	list := &corev1.ConfigMapList{}
	if err := c.List(ctx, list, client.InNamespace(ns), labels); err != nil {
		return nil, err
	}
	order := map[string]int{}
	for i, h := range prom.Status.Hooks {
		order[h.Step+"/"+h.Name] = i
	}
	rank := func(k Kept) int {
		if i, ok := order[k.Step+"/"+k.Hook]; ok {
			return i
		}
		return len(order)
	}
	kept := make([]Kept, 0, len(list.Items))
	for i := range list.Items {
		kept = append(kept, FromConfigMap(&list.Items[i]))
	}
	sort.SliceStable(kept, func(i, j int) bool {
		if ri, rj := rank(kept[i]), rank(kept[j]); ri != rj {
			return ri < rj
		}
		if kept[i].Step+"/"+kept[i].Hook != kept[j].Step+"/"+kept[j].Hook {
			return kept[i].Step+"/"+kept[i].Hook < kept[j].Step+"/"+kept[j].Hook
		}
		return kept[i].Cluster < kept[j].Cluster
	})
	return kept, nil
}
