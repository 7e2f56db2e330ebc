// Package deliverymetrics is what the controller's /metrics says of deliveries: the
// Promotions that ended and the steps that finished (counted as their status is written,
// once each), and the four DORA figures of every application and stage, computed from
// the cached Promotions and Releases at each scrape.
package deliverymetrics

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
	"ferry.dev/ferry/internal/dora"
)

var (
	// Promotions counts the Promotions that ended, by result (Succeeded, Failed,
	// Superseded).
	Promotions = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ferry_promotions_total",
		Help: "Promotions that ended, by namespace, application, stage and result.",
	}, []string{"namespace", "application", "stage", "result"})
	// StepSeconds is how long each step took, by step and result (Succeeded, Failed).
	StepSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "ferry_step_duration_seconds",
		Help:    "How long each Promotion step took, from its start to its end, by step and result.",
		Buckets: []float64{0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600},
	}, []string{"step", "result"})
)

func init() {
	metrics.Registry.MustRegister(Promotions, StepSeconds)
}

// Observe counts what one status write changed, from the status before it to the one
// written: each checkpoint that ended, and the Promotion if it ended. The write was
// made with an optimistic lock on before, so nothing is counted twice.
func Observe(before, after *ferryv1.Promotion) {
	ended := map[string]bool{}
	for _, c := range before.Status.Checkpoints {
		ended[c.Name] = c.FinishedAt != nil
	}
	for _, c := range after.Status.Checkpoints {
		if c.FinishedAt == nil || ended[c.Name] || c.StartedAt == nil {
			continue
		}
		StepSeconds.WithLabelValues(c.Name, string(c.Phase)).Observe(c.FinishedAt.Sub(c.StartedAt.Time).Seconds())
	}
	if !finished(before.Status.Phase) && finished(after.Status.Phase) {
		Promotions.WithLabelValues(after.Namespace, after.Spec.Application, after.Spec.Stage, string(after.Status.Phase)).Inc()
	}
}

func finished(p ferryv1.PromotionPhase) bool {
	return p == ferryv1.PromotionSucceeded || p == ferryv1.PromotionFailed || p == ferryv1.PromotionSuperseded
}

// DORA is a collector of the DORA figures of every application and stage over a
// window ending at the scrape.
type DORA struct {
	Reader client.Reader
	Window time.Duration
	Now    func() time.Time
}

var (
	labels       = []string{"namespace", "application", "stage"}
	perDay       = prometheus.NewDesc("ferry_dora_deployments_per_day", "Verified deployments a day over the window (DORA deployment frequency).", labels, nil)
	leadTime     = prometheus.NewDesc("ferry_dora_lead_time_seconds", "Median time from a change's commit to its verification (DORA lead time for changes).", labels, nil)
	failureRatio = prometheus.NewDesc("ferry_dora_change_failure_ratio", "Failed deployments over all deployments in the window (DORA change failure rate).", labels, nil)
	restore      = prometheus.NewDesc("ferry_dora_time_to_restore_seconds", "Median time from a failed deployment's start to a verified version running again (DORA time to restore).", labels, nil)
)

// Describe sends the descriptions of the four figures.
func (d *DORA) Describe(ch chan<- *prometheus.Desc) {
	for _, desc := range []*prometheus.Desc{perDay, leadTime, failureRatio, restore} {
		ch <- desc
	}
}

// Collect computes the figures of each application's stages; the lead time and time
// to restore only where there is one to give. A failed read reports as an invalid metric.
func (d *DORA) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	apps := &ferryv1.ApplicationList{}
	proms := &ferryv1.PromotionList{}
	rels := &ferryv1.ReleaseList{}
	for _, l := range []client.ObjectList{apps, proms, rels} {
		if err := d.Reader.List(ctx, l); err != nil {
			ch <- prometheus.NewInvalidMetric(perDay, err)
			return
		}
	}
	changed := map[string]time.Time{}
	for _, r := range rels.Items {
		changed[r.Namespace+"/"+r.Name] = r.CreationTimestamp.Time
		if g := r.Spec.Git; g != nil && g.CommittedAt != nil {
			changed[r.Namespace+"/"+r.Name] = g.CommittedAt.Time
		}
	}
	byApp := map[string][]ferryv1.Promotion{}
	for _, p := range proms.Items {
		byApp[p.Namespace+"/"+p.Spec.Application] = append(byApp[p.Namespace+"/"+p.Spec.Application], p)
	}
	now := d.Now()
	for _, a := range apps.Items {
		ps := byApp[a.Namespace+"/"+a.Name]
		relChanged := map[string]time.Time{}
		for _, p := range ps {
			relChanged[p.Spec.Release] = changed[a.Namespace+"/"+p.Spec.Release]
		}
		for _, s := range a.Spec.Stages {
			f := dora.Compute(ps, relChanged, a.Name, s.Name, now.Add(-d.Window), now)
			lv := []string{a.Namespace, a.Name, s.Name}
			ch <- prometheus.MustNewConstMetric(perDay, prometheus.GaugeValue, f.PerDay, lv...)
			ch <- prometheus.MustNewConstMetric(failureRatio, prometheus.GaugeValue, f.ChangeFailureRate, lv...)
			if f.LeadTime != nil {
				ch <- prometheus.MustNewConstMetric(leadTime, prometheus.GaugeValue, f.LeadTime.Seconds(), lv...)
			}
			if f.TimeToRestore != nil {
				ch <- prometheus.MustNewConstMetric(restore, prometheus.GaugeValue, f.TimeToRestore.Seconds(), lv...)
			}
		}
	}
}

// serving is the DORA collector registered now: a process that runs several managers
// (tests) keeps the newest.
var (
	servingMu sync.Mutex
	serving   *DORA
)

// Serve registers d on the controller's /metrics in place of any earlier one.
func Serve(d *DORA) error {
	servingMu.Lock()
	defer servingMu.Unlock()
	if serving != nil {
		metrics.Registry.Unregister(serving)
	}
	serving = d
	return metrics.Registry.Register(d)
}
