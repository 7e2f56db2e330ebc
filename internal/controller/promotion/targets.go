package promotion

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"sync"

	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
	"ferry.dev/ferry/internal/kubeapply"
)

// conn is what the deploy step uses to reach one target cluster, built once per
// cluster and reused: a fresh applier would run API discovery on every reconcile.
type conn struct {
	applier *kubeapply.Applier
	cs      kubernetes.Interface
	// local is the cluster the controller runs in, whose Deployments the manager's
	// cache watches: their changes wake the Promotion, so it need not poll.
	local bool
	// inventories is what this process knows of the applications' inventories there.
	inventories sync.Map
}

// conns keeps one conn per target cluster and credentials.
type conns struct {
	mu   sync.Mutex
	byID map[string]*conn
}

// connect returns the Cluster with the given id and a conn to it. A changed Cluster or
// kubeconfig makes a new conn.
func (r *Reconciler) connect(ctx context.Context, ns, id string) (*ferryv1.Cluster, *conn, error) {
	cl, rc, err := r.target(ctx, ns, id)
	if err != nil {
		return nil, nil, err
	}
	key := connKey(ns, cl, rc)
	r.conns.mu.Lock()
	defer r.conns.mu.Unlock()
	if c, ok := r.conns.byID[key]; ok {
		return cl, c, nil
	}
	ap, err := kubeapply.New(rc, "ferry")
	if err != nil {
		return nil, nil, err
	}
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return nil, nil, err
	}
	if r.conns.byID == nil {
		r.conns.byID = map[string]*conn{}
	}
	c := &conn{applier: ap, cs: cs, local: rc == r.LocalConfig}
	r.conns.byID[key] = c
	return cl, c, nil
}

func connKey(ns string, cl *ferryv1.Cluster, rc *rest.Config) string {
	h := sha256.New()
	for _, part := range [][]byte{[]byte(ns), []byte(cl.Name), []byte(cl.ResourceVersion), []byte(rc.Host), rc.CertData, rc.KeyData, rc.CAData, []byte(rc.BearerToken)} {
		h.Write(part)
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// deployment reads the Deployment: from the watched cache in the local cluster (nil
// while the cache has not seen it), from the API server elsewhere.
func (r *Reconciler) deployment(ctx context.Context, c *conn, ns, name string) (*appsv1.Deployment, error) {
	if c.local {
		d := &appsv1.Deployment{}
		err := r.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, d)
		if apierrors.IsNotFound(err) {
			// Just applied, not yet in the cache: its arrival wakes the Promotion.
			return nil, nil
		}
		return d, err
	}
	return c.cs.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
}
