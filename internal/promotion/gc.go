package promotion

import (
	"sort"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
)

// Collectable returns the finished Promotions of one application beyond the newest keep
// of each stage, oldest first, for the garbage collector. Unfinished ones are never
// returned, nor the newest Succeeded one of a stage: what the stage runs, and where a
// later failure rolls back to. keep <= 0 keeps everything.
func Collectable(proms []ferryv1.Promotion, keep int) []string {
	if keep <= 0 {
		return nil
	}
	byStage := map[string][]ferryv1.Promotion{}
	for _, p := range proms {
		if finished(p.Status.Phase) {
			byStage[p.Spec.Stage] = append(byStage[p.Spec.Stage], p)
		}
	}
	var out []ferryv1.Promotion
	for stage, list := range byStage {
		sort.SliceStable(list, func(i, j int) bool { return newer(&list[i], &list[j]) })
		current := ""
		if v := Verified(list, list[0].Spec.Application, stage); len(v) > 0 {
			current = v[0].Name
		}
		for i, p := range list {
			if i >= keep && p.Name != current {
				out = append(out, p)
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return newer(&out[j], &out[i]) })
	names := make([]string, len(out))
	for i, p := range out {
		names[i] = p.Name
	}
	return names
}

// newer orders Promotions by creation, newest first (name breaks ties).
func newer(a, b *ferryv1.Promotion) bool {
	if !a.CreationTimestamp.Equal(&b.CreationTimestamp) {
		return b.CreationTimestamp.Before(&a.CreationTimestamp)
	}
	return a.Name > b.Name
}

func finished(p ferryv1.PromotionPhase) bool {
	return p == ferryv1.PromotionSucceeded || p == ferryv1.PromotionFailed || p == ferryv1.PromotionSuperseded
}
