package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiextensionsclient "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"ferry.dev/ferry/internal/kubeapply"
	"ferry.dev/ferry/internal/kubebin"
	"ferry.dev/ferry/internal/kubeclient"
)

// The Argo Rollouts benchmark runs its own controller, limited to argoNamespace and to
// objects labelled with argoInstanceID, so that no other Argo Rollouts on the cluster
// acts on its Rollout.
const (
	argoNamespace   = "bench-argo"
	argoInstanceID  = "ferry-bench"
	argoRolloutName = "canary"
	argoReplicas    = 5
	argoSteps       = 4
)

var rolloutsGVR = schema.GroupVersionResource{Group: "argoproj.io", Version: "v1alpha1", Resource: "rollouts"}

// rolloutState is the part of an Argo Rollouts Rollout the benchmark reads.
type rolloutState struct {
	metav1.ObjectMeta `json:"metadata"`
	Status            struct {
		Phase              string `json:"phase"`
		Message            string `json:"message"`
		ObservedGeneration string `json:"observedGeneration"`
		StableRS           string `json:"stableRS"`
		CurrentPodHash     string `json:"currentPodHash"`
		CurrentStepIndex   *int32 `json:"currentStepIndex"`
		Replicas           int32  `json:"replicas"`
		UpdatedReplicas    int32  `json:"updatedReplicas"`
		ReadyReplicas      int32  `json:"readyReplicas"`
		AvailableReplicas  int32  `json:"availableReplicas"`
	} `json:"status"`
}

// promoted says whether a Rollout has fully promoted the template of generation gen,
// a pod hash other than the stable one before the change: the new ReplicaSet is stable,
// every replica runs it and is available, and Argo Rollouts calls the Rollout Healthy
// (for a canary without traffic routing that also means the old pods are gone).
func promoted(r rolloutState, gen int64, before string) bool {
	s := r.Status
	return s.ObservedGeneration == strconv.FormatInt(gen, 10) && s.StableRS != "" && s.StableRS != before &&
		s.StableRS == s.CurrentPodHash && s.UpdatedReplicas == argoReplicas && s.AvailableReplicas == argoReplicas &&
		s.Phase == "Healthy"
}

// argoCanaryRollout is the benchmark's Rollout: the shape of Ferry's benchmark canary
// (five simulated pods, setWeight 20, pause 1s, setWeight 60, pause 1s), with no traffic
// routing, so the weights are replica counts.
func argoCanaryRollout(image string) (*unstructured.Unstructured, error) {
	tmpl := corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": argoRolloutName}},
		Spec: corev1.PodSpec{
			NodeSelector: map[string]string{"type": "kwok"},
			Tolerations:  tolerateKwok(),
			Containers:   []corev1.Container{{Name: argoRolloutName, Image: image}},
		},
	}
	t, err := runtime.DefaultUnstructuredConverter.ToUnstructured(&tmpl)
	if err != nil {
		return nil, err
	}
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "argoproj.io/v1alpha1",
		"kind":       "Rollout",
		"metadata": map[string]any{
			"name": argoRolloutName, "namespace": argoNamespace,
			"labels": map[string]any{"argo-rollouts.argoproj.io/controller-instance-id": argoInstanceID},
		},
		"spec": map[string]any{
			"replicas": int64(argoReplicas),
			"selector": map[string]any{"matchLabels": map[string]any{"app": argoRolloutName}},
			"template": t,
			"strategy": map[string]any{"canary": map[string]any{"steps": []any{
				map[string]any{"setWeight": int64(20)},
				map[string]any{"pause": map[string]any{"duration": "1s"}},
				map[string]any{"setWeight": int64(60)},
				map[string]any{"pause": map[string]any{"duration": "1s"}},
			}}},
		},
	}}, nil
}

// argoEnv is a running Argo Rollouts benchmark: clients and the controller process.
type argoEnv struct {
	o    Options
	argo kubebin.ArgoRollouts
	cs   kubernetes.Interface
	dyn  dynamic.Interface
	ext  apiextensionsclient.Interface
	// ns says the benchmark made its namespace; crds are the CRDs it applied.
	ns     bool
	crds   []string
	ctl    *exec.Cmd
	exited chan struct{}
	log    string
}

// ArgoCanary times Argo Rollouts' own canary of five simulated pods (the shape of
// Canary's, without traffic routing) from the change of the Rollout's pod template to
// the Rollout fully promoted, and prints how far each run went beyond its 2 s of
// pauses, as Canary does. Argo Rollouts holds a pause of 1s until one second after the
// whole second in which it began, between 0 and 1 s, so it also prints how long the
// Rollout was seen paused and the time outside the pauses. It builds Argo Rollouts'
// controller into the cache on first use, installs its CRDs and runs it for a namespace
// of its own, and removes them all afterwards.
func ArgoCanary(ctx context.Context, o Options) error {
	o = withDefaults(o)
	a := &argoEnv{o: o}
	cache := kubebin.Cache{Dir: kubebin.DefaultDir(), Log: a.logf}
	start := time.Now()
	argo, err := cache.EnsureArgoRollouts()
	if err != nil {
		return err
	}
	a.argo = argo
	a.logf("Argo Rollouts %s controller %s (ready in %s)", argo.Version, argo.Controller, time.Since(start).Round(time.Second))
	if err := a.setUp(ctx); err != nil {
		a.tearDown()
		return err
	}
	defer a.tearDown()
	return a.run(ctx)
}

func (a *argoEnv) logf(format string, args ...any) {
	fmt.Fprintf(a.o.Out, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}

// setUp checks the cluster has a simulated node and no Argo Rollouts of its own, makes
// the namespace, installs the CRDs and starts the controller.
func (a *argoEnv) setUp(ctx context.Context) error {
	rc, _, err := kubeclient.Config(a.o.Kubeconfig, "")
	if err != nil {
		return err
	}
	if a.cs, err = kubernetes.NewForConfig(rc); err != nil {
		return err
	}
	if a.dyn, err = dynamic.NewForConfig(rc); err != nil {
		return err
	}
	if a.ext, err = apiextensionsclient.NewForConfig(rc); err != nil {
		return err
	}
	nodes, err := a.cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{LabelSelector: "type=kwok"})
	if err != nil {
		return err
	}
	if len(nodes.Items) == 0 {
		return errors.New("the cluster has no simulated nodes (ferry dev up --kwok-nodes 1)")
	}
	if _, err := a.ext.ApiextensionsV1().CustomResourceDefinitions().Get(ctx, "rollouts.argoproj.io", metav1.GetOptions{}); err == nil {
		return errors.New("the cluster has Argo Rollouts' CRDs: the benchmark installs and removes its own (kubectl delete crd rollouts.argoproj.io)")
	}
	if _, err := a.cs.CoreV1().Namespaces().Get(ctx, argoNamespace, metav1.GetOptions{}); err == nil {
		return fmt.Errorf("namespace %s exists: delete it first (kubectl delete namespace %s)", argoNamespace, argoNamespace)
	}
	if _, err := a.cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: argoNamespace}}, metav1.CreateOptions{}); err != nil {
		return err
	}
	a.ns = true
	manifest, err := os.ReadFile(a.argo.CRDs)
	if err != nil {
		return err
	}
	objs, err := kubeapply.Decode(manifest)
	if err != nil {
		return fmt.Errorf("%s: %w", a.argo.CRDs, err)
	}
	ap, err := kubeapply.New(rc, "ferry-bench")
	if err != nil {
		return err
	}
	for _, obj := range objs {
		if err := ap.Apply(ctx, obj); err != nil {
			return err
		}
		a.crds = append(a.crds, obj.GetName())
	}
	if err := a.waitEstablished(ctx); err != nil {
		return err
	}
	return a.startController(ctx)
}

// waitEstablished waits until the API server serves Rollouts.
func (a *argoEnv) waitEstablished(ctx context.Context) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err := a.dyn.Resource(rolloutsGVR).Namespace(argoNamespace).List(ctx, metav1.ListOptions{Limit: 1})
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("rollouts not served within 30s: %w", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// startController runs Argo Rollouts' controller for the benchmark namespace, without
// leader election, and waits until it answers its health check.
func (a *argoEnv) startController(ctx context.Context) error {
	healthz, err := freePort()
	if err != nil {
		return err
	}
	metrics, err := freePort()
	if err != nil {
		return err
	}
	a.log = filepath.Join(os.TempDir(), "ferry-bench-argo-rollouts.log")
	logFile, err := os.Create(a.log)
	if err != nil {
		return err
	}
	a.ctl = exec.Command(a.argo.Controller, "--kubeconfig", a.o.Kubeconfig, "--namespaced", "--namespace", argoNamespace,
		"--instance-id", argoInstanceID, "--leader-elect=false", "--healthzPort", strconv.Itoa(healthz), "--metricsport", strconv.Itoa(metrics))
	// Its notification settings are read from the namespace named here.
	a.ctl.Env = append(os.Environ(), "POD_NAMESPACE="+argoNamespace)
	a.ctl.Stdout, a.ctl.Stderr = logFile, logFile
	if err := a.ctl.Start(); err != nil {
		logFile.Close()
		return err
	}
	logFile.Close()
	a.exited = make(chan struct{})
	go func() { _ = a.ctl.Wait(); close(a.exited) }()
	a.logf("rollouts-controller pid %d, log %s", a.ctl.Process.Pid, a.log)
	if err := waitHealthy(ctx, fmt.Sprintf("http://127.0.0.1:%d/healthz", healthz), a.exited); err != nil {
		return fmt.Errorf("rollouts-controller: %w (log: %s)", err, a.log)
	}
	return nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// tearDown stops the controller and deletes the namespace and the CRDs, waiting until
// they are gone, on a context of its own so that an interrupted run still cleans up.
func (a *argoEnv) tearDown() {
	if a.ctl != nil && a.ctl.Process != nil {
		_ = a.ctl.Process.Kill()
		<-a.exited
	}
	if !a.ns {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := a.cs.CoreV1().Namespaces().Delete(ctx, argoNamespace, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		a.logf("deleting namespace %s: %v", argoNamespace, err)
	}
	for ctx.Err() == nil {
		if _, err := a.cs.CoreV1().Namespaces().Get(ctx, argoNamespace, metav1.GetOptions{}); apierrors.IsNotFound(err) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	for _, name := range a.crds {
		if err := a.ext.ApiextensionsV1().CustomResourceDefinitions().Delete(ctx, name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			a.logf("deleting CRD %s: %v", name, err)
		}
	}
	// A CRD is gone once the API server has removed its objects; a run that follows
	// at once would otherwise find them.
	for _, name := range a.crds {
		for ctx.Err() == nil {
			if _, err := a.ext.ApiextensionsV1().CustomResourceDefinitions().Get(ctx, name, metav1.GetOptions{}); apierrors.IsNotFound(err) {
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	a.logf("removed namespace %s and Argo Rollouts' CRDs", argoNamespace)
}

// run creates the Rollout, waits for it to be Healthy, then times the canaries.
func (a *argoEnv) run(ctx context.Context) error {
	ri := a.dyn.Resource(rolloutsGVR).Namespace(argoNamespace)
	w, err := ri.Watch(ctx, metav1.ListOptions{FieldSelector: "metadata.name=" + argoRolloutName})
	if err != nil {
		return err
	}
	defer w.Stop()
	obj, err := argoCanaryRollout(argoImage(0))
	if err != nil {
		return err
	}
	created, err := ri.Create(ctx, obj, metav1.CreateOptions{})
	if err != nil {
		return err
	}
	// The first version has no stable one before it: Argo Rollouts scales it up at once.
	if _, _, err := a.waitPromoted(ctx, w, created.GetGeneration(), ""); err != nil {
		return fmt.Errorf("first version: %w", err)
	}
	stable, err := a.stableRS(ctx)
	if err != nil {
		return err
	}
	var total, paused, outside []time.Duration
	tl := &timeline{}
	for i := 1; i <= CanaryRuns; i++ {
		patch := fmt.Sprintf(`[{"op":"replace","path":"/spec/template/spec/containers/0/image","value":%q}]`, argoImage(i))
		if i == CanaryRuns {
			// As in Canary: the watches and what they first list come before the clock.
			wctx, stop := context.WithCancel(ctx)
			defer stop()
			if err := a.watchTimeline(wctx, tl); err != nil {
				return err
			}
			time.Sleep(time.Second)
		}
		start := time.Now()
		tl.setStart(start)
		updated, err := ri.Patch(ctx, argoRolloutName, types.JSONPatchType, []byte(patch), metav1.PatchOptions{})
		if err != nil {
			return err
		}
		done, p, err := a.waitPromoted(ctx, w, updated.GetGeneration(), stable)
		if err != nil {
			return fmt.Errorf("run %d: %w", i, err)
		}
		if p == 0 {
			return fmt.Errorf("run %d ran no canary: the Rollout was never seen paused", i)
		}
		total = append(total, done.Sub(start))
		paused = append(paused, p)
		outside = append(outside, done.Sub(start)-p)
		if stable, err = a.stableRS(ctx); err != nil {
			return err
		}
		a.logf("run %d (%s): %s, paused %s", i, argoImage(i), total[len(total)-1].Round(time.Millisecond), p.Round(time.Millisecond))
	}
	fmt.Fprintf(a.o.Out, "\ntimeline of the last run, from the Rollout's update:\n")
	tl.print(a.o.Out)
	slices.Sort(total)
	slices.Sort(paused)
	slices.Sort(outside)
	fmt.Fprintf(a.o.Out, "\nArgo Rollouts %s canary of 5 simulated pods (setWeight 20, pause 1s, setWeight 60, pause 1s, no traffic routing), %d runs:\n",
		a.argo.Version, len(total))
	fmt.Fprintf(a.o.Out, "pod template updated -> fully promoted: min %s  median %s  max %s; beyond the 2 s of pauses: median %s, max %s\n",
		pct(total, 0), pct(total, 50), pct(total, 100), pct(total, 50)-canaryPauses, pct(total, 100)-canaryPauses)
	// A pause ends one whole second after the second in which it began (its start is
	// stored in the status at second resolution), so it holds between 0 and 1 s.
	fmt.Fprintf(a.o.Out, "seen paused (a pause ends 1 s after the whole second it began in): median %s, max %s; outside the pauses: median %s, max %s\n",
		pct(paused, 50), pct(paused, 100), pct(outside, 50), pct(outside, 100))
	return nil
}

// argoImage is the image of the benchmark's version n, in the style of Ferry's canary
// benchmark; simulated pods never pull it.
func argoImage(n int) string {
	return fmt.Sprintf("127.0.0.1:5000/bench/%s:1.0.%d", argoRolloutName, n)
}

func (a *argoEnv) stableRS(ctx context.Context) (string, error) {
	u, err := a.dyn.Resource(rolloutsGVR).Namespace(argoNamespace).Get(ctx, argoRolloutName, metav1.GetOptions{})
	if err != nil {
		return "", err
	}
	r, err := toRollout(u)
	return r.Status.StableRS, err
}

func toRollout(u *unstructured.Unstructured) (rolloutState, error) {
	var r rolloutState
	err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.UnstructuredContent(), &r)
	return r, err
}

// waitPromoted reads the Rollout's watch until it has promoted generation gen, and says
// when it saw that and how long it saw the Rollout paused on canary steps on the way.
func (a *argoEnv) waitPromoted(ctx context.Context, w watch.Interface, gen int64, before string) (time.Time, time.Duration, error) {
	timeout := time.NewTimer(2 * time.Minute)
	defer timeout.Stop()
	var (
		paused      time.Duration
		pausedSince time.Time
		last        rolloutState
	)
	for {
		select {
		case ev, ok := <-w.ResultChan():
			if !ok {
				return time.Time{}, 0, errors.New("the Rollout's watch ended")
			}
			now := time.Now()
			u, isObj := ev.Object.(*unstructured.Unstructured)
			if !isObj {
				continue
			}
			r, err := toRollout(u)
			if err != nil {
				return time.Time{}, 0, err
			}
			last = r
			isPaused := r.Status.ObservedGeneration == strconv.FormatInt(gen, 10) && r.Status.Phase == "Paused"
			switch {
			case isPaused && pausedSince.IsZero():
				pausedSince = now
			case !isPaused && !pausedSince.IsZero():
				paused += now.Sub(pausedSince)
				pausedSince = time.Time{}
			}
			if promoted(r, gen, before) {
				return now, paused, nil
			}
		case <-a.exited:
			return time.Time{}, 0, fmt.Errorf("rollouts-controller exited (log: %s)", a.log)
		case <-timeout.C:
			b, _ := json.Marshal(last.Status)
			return time.Time{}, 0, fmt.Errorf("generation %d not promoted within 2m; last status %s (log: %s)", gen, b, a.log)
		case <-ctx.Done():
			return time.Time{}, 0, ctx.Err()
		}
	}
}

// watchTimeline records the Rollout's status changes and the ReplicaSets' spec and
// status changes until ctx ends.
func (a *argoEnv) watchTimeline(ctx context.Context, tl *timeline) error {
	rw, err := a.dyn.Resource(rolloutsGVR).Namespace(argoNamespace).Watch(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	rsw, err := a.cs.AppsV1().ReplicaSets(argoNamespace).Watch(ctx, metav1.ListOptions{})
	if err != nil {
		rw.Stop()
		return err
	}
	go func() {
		seen := ""
		for ev := range rw.ResultChan() {
			u, ok := ev.Object.(*unstructured.Unstructured)
			if !ok {
				continue
			}
			r, err := toRollout(u)
			if err != nil {
				continue
			}
			s := r.Status
			step := "-"
			if s.CurrentStepIndex != nil {
				step = strconv.Itoa(int(*s.CurrentStepIndex))
			}
			line := fmt.Sprintf("rollout %s generation %d observed %s: %s step %s/%d, stable %s current %s, replicas %d updated %d ready %d available %d %s",
				r.Name, r.Generation, s.ObservedGeneration, s.Phase, step, argoSteps, s.StableRS, s.CurrentPodHash,
				s.Replicas, s.UpdatedReplicas, s.ReadyReplicas, s.AvailableReplicas, s.Message)
			if line != seen {
				seen = line
				tl.add("%s", line)
			}
		}
	}()
	go func() {
		seen := map[string]string{}
		for ev := range rsw.ResultChan() {
			rs, ok := ev.Object.(*appsv1.ReplicaSet)
			if !ok {
				continue
			}
			st := rs.Status
			line := fmt.Sprintf("spec %d, status %d ready %d available %d", *rs.Spec.Replicas, st.Replicas, st.ReadyReplicas, st.AvailableReplicas)
			if ev.Type == watch.Modified && seen[rs.Name] == line {
				continue
			}
			seen[rs.Name] = line
			tl.add("replicaset %-20s %-8s %s", rs.Name, ev.Type, line)
		}
	}()
	go func() {
		<-ctx.Done()
		rw.Stop()
		rsw.Stop()
	}()
	return nil
}
