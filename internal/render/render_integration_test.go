//go:build integration

package render

import (
	"context"
	"path/filepath"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"ferry.dev/ferry/internal/kubeapply"
	"ferry.dev/ferry/internal/testenv"
)

// CRD sources: the projects' own Go modules, at pinned versions.
const (
	kedaModule     = "github.com/kedacore/keda/v2@v2.21.0"
	promOpModule   = "github.com/prometheus-operator/prometheus-operator@v0.85.0"
	promOpCRDDir   = "example/prometheus-operator-crd"
	kedaCRDDir     = "config/crd/bases"
	scaledObjects  = "keda.sh_scaledobjects.yaml"
	podMonitors    = "monitoring.coreos.com_podmonitors.yaml"
	prometheusRule = "monitoring.coreos.com_prometheusrules.yaml"
	amConfigs      = "monitoring.coreos.com_alertmanagerconfigs.yaml"
)

// TestRenderedObjectsPassServerSideDryRun sends every rendered object of every golden
// case to a real API server, with KEDA's and the Prometheus operator's CRDs installed,
// as a server-side apply dry run: the API server validates each one against its schema.
func TestRenderedObjectsPassServerSideDryRun(t *testing.T) {
	keda := testenv.ModuleDir(t, kedaModule)
	promOp := testenv.ModuleDir(t, promOpModule)
	rc := testenv.Start(t,
		filepath.Join(keda, kedaCRDDir, scaledObjects),
		filepath.Join(promOp, promOpCRDDir, podMonitors),
		filepath.Join(promOp, promOpCRDDir, prometheusRule),
		filepath.Join(promOp, promOpCRDDir, amConfigs),
	)
	ctx := context.Background()
	cs := kubernetes.NewForConfigOrDie(rc)
	ap, err := kubeapply.New(rc, "ferry-render-test")
	if err != nil {
		t.Fatal(err)
	}
	ap.DryRun = true
	checked := map[string]int{}
	for _, in := range goldenCases(t) {
		objs, err := Objects(context.Background(), in)
		if err != nil {
			t.Fatal(err)
		}
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: in.App.Deploy.Namespace}}
		if _, err := cs.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatal(err)
		}
		for _, o := range objs {
			if err := ap.Apply(ctx, o); err != nil {
				t.Errorf("%s: %v", goldenName(in), err)
			}
			checked[o.GetKind()]++
		}
	}
	for _, kind := range []string{"Deployment", "Service", "ServiceAccount", "Ingress", "PodDisruptionBudget",
		"HorizontalPodAutoscaler", "ScaledObject", "PodMonitor", "PrometheusRule", "AlertmanagerConfig"} {
		if checked[kind] == 0 {
			t.Errorf("no %s was checked", kind)
		}
	}
	t.Logf("checked %v", checked)
}
