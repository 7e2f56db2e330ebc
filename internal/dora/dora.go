// Package dora computes the four DORA figures of one application in one stage from its
// Promotions: deployment frequency, lead time for changes, change failure rate and time
// to restore. A deployment is a Promotion whose deploy step began and that ended; it
// counts in the period it ended in.
package dora

import (
	"slices"
	"time"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
)

// Figures are the DORA figures of a period.
type Figures struct {
	Application string    `json:"application"`
	Stage       string    `json:"stage"`
	From        time.Time `json:"from"`
	To          time.Time `json:"to"`
	// Deployments ended in the period: Succeeded of them verified, Failed not (a step
	// failed after the deploy began, whether or not the rollback worked).
	Deployments int `json:"deployments"`
	Succeeded   int `json:"succeeded"`
	Failed      int `json:"failed"`
	// PerDay is the deployment frequency: succeeded deployments a day.
	PerDay float64 `json:"perDay"`
	// LeadTime is the median time from a change (its commit, or its Release's creation
	// without a commit time) to its verification in the stage, over LeadTimes changes.
	LeadTime  *Duration `json:"leadTime,omitempty"`
	LeadTimes int       `json:"leadTimes"`
	// ChangeFailureRate is Failed / Deployments (0 without deployments).
	ChangeFailureRate float64 `json:"changeFailureRate"`
	// TimeToRestore is the median time from a failed deployment's start to the stage
	// running a verified version again (its rollback verified, or the next deployment
	// that succeeded), over Restores failures that were restored.
	TimeToRestore *Duration `json:"timeToRestore,omitempty"`
	Restores      int       `json:"restores"`
}

// Duration is a time.Duration that writes itself as Go does (1h2m3s) in JSON.
type Duration struct{ time.Duration }

// MarshalJSON writes the duration as a string.
func (d Duration) MarshalJSON() ([]byte, error) { return []byte(`"` + d.String() + `"`), nil }

// deployment is one Promotion as the figures see it.
type deployment struct {
	release   string
	started   time.Time // the deploy step's start
	ended     time.Time
	succeeded bool
	// restored is when a failed one's rollback was verified (zero if it was not).
	restored time.Time
}

// Compute finds the figures of the stage over [from, to) from the application's
// Promotions; changedAt gives each Release's change time (commit or creation).
func Compute(proms []ferryv1.Promotion, changedAt map[string]time.Time, app, stage string, from, to time.Time) Figures {
	f := Figures{Application: app, Stage: stage, From: from, To: to}
	all := deployments(proms, stage)
	var leads, restores []time.Duration
	for i, d := range all {
		if d.ended.Before(from) || !d.ended.Before(to) {
			continue
		}
		f.Deployments++
		if d.succeeded {
			f.Succeeded++
			if c, ok := changedAt[d.release]; ok && !c.IsZero() && !c.After(d.ended) {
				leads = append(leads, d.ended.Sub(c))
			}
			continue
		}
		f.Failed++
		if back := restoredAt(all, i); !back.IsZero() {
			restores = append(restores, back.Sub(d.started))
		}
	}
	if days := to.Sub(from).Hours() / 24; days > 0 {
		f.PerDay = float64(f.Succeeded) / days
	}
	if f.Deployments > 0 {
		f.ChangeFailureRate = float64(f.Failed) / float64(f.Deployments)
	}
	f.LeadTime, f.LeadTimes = median(leads), len(leads)
	f.TimeToRestore, f.Restores = median(restores), len(restores)
	return f
}

// deployments are the stage's ended Promotions whose deploy began, oldest end first.
func deployments(proms []ferryv1.Promotion, stage string) []deployment {
	var out []deployment
	for _, p := range proms {
		if p.Spec.Stage != stage {
			continue
		}
		var d deployment
		var ok bool
		d.release = p.Spec.Release
		for _, c := range p.Status.Checkpoints {
			switch {
			case c.Name == ferryv1.StepDeploy && c.StartedAt != nil:
				d.started, ok = c.StartedAt.Time, true
			case c.Name == ferryv1.StepRollbackTests && c.Phase == ferryv1.CheckpointSucceeded && c.FinishedAt != nil:
				d.restored = c.FinishedAt.Time
			}
			if c.FinishedAt != nil && c.FinishedAt.After(d.ended) {
				d.ended = c.FinishedAt.Time
			}
		}
		switch p.Status.Phase {
		case ferryv1.PromotionSucceeded:
			d.succeeded = true
		case ferryv1.PromotionFailed:
		default:
			ok = false // under way, or superseded before it ended
		}
		if ok && !d.ended.IsZero() {
			out = append(out, d)
		}
	}
	slices.SortFunc(out, func(a, b deployment) int { return a.ended.Compare(b.ended) })
	return out
}

// restoredAt is when the stage ran a verified version again after the failed
// deployment all[i]: its own rollback, or the next deployment that succeeded.
func restoredAt(all []deployment, i int) time.Time {
	if !all[i].restored.IsZero() {
		return all[i].restored
	}
	for _, d := range all[i+1:] {
		if d.succeeded {
			return d.ended
		}
	}
	return time.Time{}
}

// median is the middle value (the mean of the two middle ones), nil for none.
func median(ds []time.Duration) *Duration {
	if len(ds) == 0 {
		return nil
	}
	slices.Sort(ds)
	m := ds[len(ds)/2]
	if len(ds)%2 == 0 {
		m = (ds[len(ds)/2-1] + m) / 2
	}
	return &Duration{m}
}
