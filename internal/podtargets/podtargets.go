// Package podtargets turns the pods of a cluster into Prometheus scrape targets: it
// watches pods through the Kubernetes API and writes the ones that ask to be scraped
// (prometheus.io/scrape, port and path annotations) to a file_sd file that Prometheus
// rereads when it changes.
//
// The dev cluster needs it because Debian's Prometheus is built without Kubernetes
// service discovery; with an upstream Prometheus, kubernetes_sd_configs does the same.
package podtargets

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

// Annotations a pod sets to be scraped.
const (
	annScrape = "prometheus.io/scrape"
	annPort   = "prometheus.io/port"
	annPath   = "prometheus.io/path"
)

// Group is one entry of a Prometheus file_sd file.
type Group struct {
	Targets []string          `json:"targets"`
	Labels  map[string]string `json:"labels"`
}

// Targets picks the pods to scrape: annotated, running, with an address, and on one of
// the given nodes (simulated pods serve nothing and are never sent traffic).
func Targets(pods []*corev1.Pod, nodes map[string]bool) []Group {
	var out []Group
	for _, p := range pods {
		if p.Annotations[annScrape] != "true" || p.Status.Phase != corev1.PodRunning || p.Status.PodIP == "" || !nodes[p.Spec.NodeName] {
			continue
		}
		port := p.Annotations[annPort]
		if port == "" {
			port = firstPort(p)
		}
		if port == "" {
			continue
		}
		path := p.Annotations[annPath]
		if path == "" {
			path = "/metrics"
		}
		lbls := map[string]string{"__metrics_path__": path, "namespace": p.Namespace, "pod": p.Name, "node": p.Spec.NodeName}
		for k, v := range p.Labels {
			lbls[labelName(k)] = v
		}
		out = append(out, Group{Targets: []string{p.Status.PodIP + ":" + port}, Labels: lbls})
	}
	sort.Slice(out, func(i, j int) bool {
		return out[i].Labels["namespace"]+"/"+out[i].Labels["pod"] < out[j].Labels["namespace"]+"/"+out[j].Labels["pod"]
	})
	return out
}

func firstPort(p *corev1.Pod) string {
	for _, c := range p.Spec.Containers {
		for _, port := range c.Ports {
			return fmt.Sprint(port.ContainerPort)
		}
	}
	return ""
}

var invalidLabel = regexp.MustCompile(`[^a-zA-Z0-9_]`)

// labelName turns a pod label key into a Prometheus label name, as labelmap does for
// __meta_kubernetes_pod_label_*.
func labelName(k string) string { return invalidLabel.ReplaceAllString(k, "_") }

// Run watches pods and rewrites file whenever the set of targets changes, until ctx ends.
func Run(ctx context.Context, cs kubernetes.Interface, nodes []string, file string) error {
	onNode := map[string]bool{}
	for _, n := range nodes {
		onNode[n] = true
	}
	factory := informers.NewSharedInformerFactory(cs, 10*time.Minute)
	inf := factory.Core().V1().Pods()
	changed := make(chan struct{}, 1)
	poke := func(any) {
		select {
		case changed <- struct{}{}:
		default:
		}
	}
	if _, err := inf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: poke, DeleteFunc: poke, UpdateFunc: func(_, n any) { poke(n) },
	}); err != nil {
		return err
	}
	factory.Start(ctx.Done())
	factory.WaitForCacheSync(ctx.Done())
	var last []byte
	for {
		pods, err := inf.Lister().List(labels.Everything())
		if err != nil {
			return err
		}
		b, err := json.MarshalIndent(Targets(pods, onNode), "", "  ")
		if err != nil {
			return err
		}
		if string(b) != string(last) {
			if err := writeAtomic(file, b); err != nil {
				return err
			}
			last = b
		}
		select {
		case <-ctx.Done():
			return nil
		case <-changed:
			// Let a burst of pod updates settle into one write.
			time.Sleep(200 * time.Millisecond)
		}
	}
}

// writeAtomic replaces file in one rename, so Prometheus never reads half a file.
func writeAtomic(file string, b []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(file), ".targets-*")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), file)
}
