//go:build integration

package approve

import (
	"bytes"
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	authnv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
	"ferry.dev/ferry/internal/approval"
	"ferry.dev/ferry/internal/cli/iostreams"
	"ferry.dev/ferry/internal/install"
	"ferry.dev/ferry/internal/kubeclient"
	"ferry.dev/ferry/internal/server"
	"ferry.dev/ferry/internal/testenv"
)

// TestApproveThroughTheServer: `ferry approve --server URL --token-file F` and `ferry
// reject` decide through a real ferry server in the name of the token's ServiceAccount
// (its namespace's group is the stage's approver group); a second decision and one by
// an account outside the group come back as the server's refusal, nothing recorded.
func TestApproveThroughTheServer(t *testing.T) {
	env := testenv.StartEnv(t)
	ctx := context.Background()
	_, err := install.CRDs(ctx, env.Config, 30*time.Second)
	must(t, err)
	admin, err := kubeclient.Ferry(env.Config)
	must(t, err)
	cs := kubernetes.NewForConfigOrDie(env.Config)
	for _, ns := range []string{"team", "outside"} {
		_, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
		must(t, err)
	}
	env.Grant(t, "ferry-approver", testenv.ApproverRules, "system:serviceaccounts:team", "system:serviceaccounts:outside")
	must(t, admin.Create(ctx, &ferryv1.Application{ObjectMeta: metav1.ObjectMeta{Name: "shop", Namespace: "team"},
		Spec: ferryv1.ApplicationSpec{AppFile: "build: {artifact: shop}\n", Stages: []ferryv1.StageSpec{
			{Name: "prod", Clusters: []string{"local"}, ApproverGroups: []string{"system:serviceaccounts:team"}}}}}))
	for _, name := range []string{"shop-1-prod", "shop-2-prod"} {
		p := &ferryv1.Promotion{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "team",
			Labels: map[string]string{ferryv1.LabelApplication: "shop", ferryv1.LabelStage: "prod"}},
			Spec: ferryv1.PromotionSpec{Application: "shop", Release: strings.TrimSuffix(name, "-prod"), Stage: "prod"}}
		must(t, admin.Create(ctx, p))
		if name == "shop-1-prod" {
			p.Status.Phase = ferryv1.PromotionWaitingApproval
			must(t, admin.Status().Update(ctx, p))
		}
	}
	s := &server.Server{Client: admin, Local: env.Config}
	cacheCtx, stopCache := context.WithCancel(ctx) // stopped before the API server is
	defer stopCache()
	must(t, s.Start(cacheCtx)) // the API reads from the server's cache
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()

	run := func(d ferryv1.Decision, ns, account, reason string) (string, error) {
		t.Helper()
		var out bytes.Buffer
		o := &options{s: iostreams.Streams{Out: &out}, server: srv.URL, tokenFile: tokenFile(t, cs, ns, account),
			req: approval.Request{Namespace: "team", Application: "shop", Stage: "prod", Decision: d, Reason: reason}}
		if err := o.validate(); err != nil {
			return "", err
		}
		err := o.run(ctx)
		return out.String(), err
	}
	out, err := run(ferryv1.DecisionApprove, "team", "ann", "")
	if err != nil || out != "system:serviceaccount:team:ann: Approve as system:serviceaccounts:team on shop-1-prod\n" {
		t.Fatalf("ann approves: %q, %v", out, err)
	}
	_, err = run(ferryv1.DecisionReject, "team", "ann", "changed my mind")
	if err == nil || !strings.Contains(err.Error(), "(409 Conflict): system:serviceaccount:team:ann has already decided on shop-1-prod") {
		t.Errorf("ann again: %v", err)
	}
	_, err = run(ferryv1.DecisionApprove, "outside", "eve", "")
	if err == nil || !strings.Contains(err.Error(), "(403 Forbidden): system:serviceaccount:outside:eve is not in an approver group of stage prod") {
		t.Errorf("eve: %v", err)
	}
	if _, err = run(ferryv1.DecisionReject, "team", "bob", ""); err == nil || err.Error() != "--reason is required to reject" {
		t.Errorf("a rejection without a reason: %v", err)
	}
	out, err = run(ferryv1.DecisionReject, "team", "bob", "checkout fails")
	if err != nil || out != "system:serviceaccount:team:bob: Reject as system:serviceaccounts:team on shop-1-prod\n" {
		t.Errorf("bob rejects: %q, %v", out, err)
	}

	list := &ferryv1.ApprovalDecisionList{}
	must(t, admin.List(ctx, list, client.InNamespace("team")))
	var got []string
	for _, d := range list.Items {
		got = append(got, d.Spec.User+" "+string(d.Spec.Decision)+" "+d.Spec.Promotion)
	}
	if len(got) != 2 || !strings.Contains(strings.Join(got, ","), "system:serviceaccount:team:ann Approve shop-1-prod") ||
		!strings.Contains(strings.Join(got, ","), "system:serviceaccount:team:bob Reject shop-1-prod") {
		t.Errorf("recorded %v, want ann's approval and bob's rejection alone", got)
	}
}

// tokenFile makes the ServiceAccount (when missing) and writes a token of it to a file.
func tokenFile(t *testing.T, cs kubernetes.Interface, ns, name string) string {
	t.Helper()
	ctx := context.Background()
	if _, err := cs.CoreV1().ServiceAccounts(ns).Get(ctx, name, metav1.GetOptions{}); err != nil {
		_, err = cs.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
		must(t, err)
	}
	tr, err := cs.CoreV1().ServiceAccounts(ns).CreateToken(ctx, name,
		&authnv1.TokenRequest{Spec: authnv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](600)}}, metav1.CreateOptions{})
	must(t, err)
	f := filepath.Join(t.TempDir(), "token")
	must(t, os.WriteFile(f, []byte(tr.Status.Token+"\n"), 0o600))
	return f
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
