package api

import (
	"fmt"
	"net/http"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/transport"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
)

// Impersonator returns API.Impersonate for the server's own config: a client per user
// that sends the Impersonate-* headers (user, UID, groups, extra) over the server's own
// connections, sharing one REST mapper, so a decision costs no discovery and no new
// TLS handshake. The server's identity needs the impersonate right (`ferry install`
// grants it to ferry-server).
func Impersonator(base *rest.Config) (func(User) (client.Client, error), error) {
	hc, err := rest.HTTPClientFor(base)
	if err != nil {
		return nil, fmt.Errorf("an HTTP client for the API server: %w", err)
	}
	mapper, err := apiutil.NewDynamicRESTMapper(base, hc)
	if err != nil {
		return nil, fmt.Errorf("a REST mapper: %w", err)
	}
	scheme := runtime.NewScheme()
	if err := ferryv1.AddToScheme(scheme); err != nil {
		return nil, err
	}
	return func(u User) (client.Client, error) {
		if u.Name == "" {
			return nil, fmt.Errorf("no user to act as")
		}
		rt := transport.NewImpersonatingRoundTripper(transport.ImpersonationConfig{
			UserName: u.Name, UID: u.UID, Groups: u.Groups, Extra: u.Extra}, hc.Transport)
		return client.New(base, client.Options{Scheme: scheme, Mapper: mapper,
			HTTPClient: &http.Client{Transport: rt, Timeout: hc.Timeout}})
	}, nil
}
