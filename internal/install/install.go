// Package install puts Ferry's API into a cluster: it applies the CustomResourceDefinitions
// and waits until the API server serves them.
package install

import (
	"context"
	"fmt"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextensionsclient "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"

	"ferry.dev/ferry/config"
	"ferry.dev/ferry/internal/kubeapply"
)

// CRDs applies Ferry's CustomResourceDefinitions, waits until each is established, then
// applies the admission policies that check who approves.
func CRDs(ctx context.Context, rc *rest.Config, timeout time.Duration) ([]string, error) {
	manifests, err := config.CRDs()
	if err != nil {
		return nil, err
	}
	policies, err := config.Admission()
	if err != nil {
		return nil, err
	}
	ap, err := kubeapply.New(rc, "ferry-install")
	if err != nil {
		return nil, err
	}
	var names []string
	for _, m := range manifests {
		objs, err := kubeapply.Decode(m)
		if err != nil {
			return nil, err
		}
		for _, o := range objs {
			if err := ap.Apply(ctx, o); err != nil {
				return nil, err
			}
			names = append(names, o.GetName())
		}
	}
	cs, err := apiextensionsclient.NewForConfig(rc)
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(timeout)
	for _, name := range names {
		for {
			crd, err := cs.ApiextensionsV1().CustomResourceDefinitions().Get(ctx, name, metav1.GetOptions{})
			if err == nil && established(crd) {
				break
			}
			if time.Now().After(deadline) {
				if err != nil {
					return nil, fmt.Errorf("CRD %s not established within %s: %w", name, timeout, err)
				}
				return nil, fmt.Errorf("CRD %s not established within %s", name, timeout)
			}
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
	for _, m := range policies {
		if err := ap.ApplyManifest(ctx, m); err != nil {
			return nil, err
		}
	}
	return names, nil
}

func established(crd *apiextensionsv1.CustomResourceDefinition) bool {
	for _, c := range crd.Status.Conditions {
		if c.Type == apiextensionsv1.Established && c.Status == apiextensionsv1.ConditionTrue {
			return true
		}
	}
	return false
}
