// Package clusters reaches the Kubernetes cluster a Cluster object names: the cluster
// the controller runs in when the Cluster names no kubeconfig Secret, else the one the
// Secret's kubeconfig describes.
package clusters

import (
	"context"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
)

// Errors that no retry mends: the Cluster does not exist, or its Secret holds no
// kubeconfig.
var (
	ErrNoCluster     = errors.New("no such cluster")
	ErrBadKubeconfig = errors.New("not a kubeconfig")
)

// Config returns the Cluster named id in namespace ns and a config to reach it: from the
// kubeconfig in the Secret it names (key "kubeconfig" unless it says), or local when it
// names none. c must know the core kinds (Secrets) as well as Ferry's.
func Config(ctx context.Context, c client.Client, local *rest.Config, ns, id string) (*ferryv1.Cluster, *rest.Config, error) {
	cl := &ferryv1.Cluster{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: id}, cl); err != nil {
		if apierrors.IsNotFound(err) {
			err = ErrNoCluster
		}
		return nil, nil, fmt.Errorf("cluster %q in namespace %s: %w", id, ns, err)
	}
	ref := cl.Spec.KubeconfigSecretRef
	if ref == nil {
		if local == nil {
			return nil, nil, fmt.Errorf("cluster %s is the local cluster, and no config for it was given", id)
		}
		return cl, local, nil
	}
	sec := &corev1.Secret{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: ref.Name}, sec); err != nil {
		return nil, nil, fmt.Errorf("cluster %s: kubeconfig secret %s: %w", id, ref.Name, err)
	}
	key := ref.Key
	if key == "" {
		key = "kubeconfig"
	}
	rc, err := clientcmd.RESTConfigFromKubeConfig(sec.Data[key])
	if err != nil {
		return nil, nil, fmt.Errorf("cluster %s: secret %s key %s is %w: %w", id, ref.Name, key, ErrBadKubeconfig, err)
	}
	return cl, rc, nil
}
