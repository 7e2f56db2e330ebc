// Package kubeclient builds the clients CLI verbs use from a kubeconfig path (or the
// usual defaults: $KUBECONFIG, ~/.kube/config, in-cluster).
package kubeclient

import (
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
)

// Config loads a rest config and the namespace to work in: namespace when given, else
// the one the kubeconfig's context names, else "default".
func Config(kubeconfig, namespace string) (*rest.Config, string, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = kubeconfig
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, nil)
	rc, err := cc.ClientConfig()
	if err != nil {
		return nil, "", err
	}
	if namespace != "" {
		return rc, namespace, nil
	}
	ns, _, err := cc.Namespace()
	if err != nil || ns == "" {
		ns = "default"
	}
	return rc, ns, nil
}

// Ferry returns a client that knows Ferry's kinds.
func Ferry(rc *rest.Config) (client.Client, error) {
	scheme := runtime.NewScheme()
	if err := ferryv1.AddToScheme(scheme); err != nil {
		return nil, err
	}
	return client.New(rc, client.Options{Scheme: scheme})
}
