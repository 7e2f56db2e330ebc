package admission

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"

	admissionregv1 "k8s.io/api/admissionregistration/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/webhook"

	"ferry.dev/ferry/internal/pki"
)

// ConfigurationName is the ValidatingWebhookConfiguration Ferry installs.
const ConfigurationName = "ferry-validation"

// +kubebuilder:rbac:groups=admissionregistration.k8s.io,resources=validatingwebhookconfigurations,verbs=get;create;update

// Server makes the webhook server listening on addr (host:port) with a serving
// certificate for urlHost, the name or address the API server calls, from a CA made for
// this process; the files go under dir. It returns the CA for the API server to trust.
func Server(addr, urlHost, dir string) (webhook.Server, []byte, error) {
	host, portText, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, nil, fmt.Errorf("webhook address %q: %w", addr, err)
	}
	port, err := strconv.Atoi(portText)
	if err != nil {
		return nil, nil, fmt.Errorf("webhook address %q: bad port", addr)
	}
	ca, err := pki.NewCA("ferry-webhook-ca")
	if err != nil {
		return nil, nil, err
	}
	req := pki.Request{CommonName: urlHost, Server: true}
	if ip := net.ParseIP(urlHost); ip != nil {
		req.IPs = []net.IP{ip}
	} else {
		req.DNSNames = []string{urlHost}
	}
	certPEM, keyPEM, err := ca.Issue(req)
	if err != nil {
		return nil, nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "tls.crt"), certPEM, 0o600); err != nil {
		return nil, nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "tls.key"), keyPEM, 0o600); err != nil {
		return nil, nil, err
	}
	return webhook.NewServer(webhook.Options{Host: host, Port: port, CertDir: dir}), ca.PEM, nil
}

// Install creates or updates the configuration that sends new Promotions and Releases
// to the webhook at baseURL. A Promotion is refused while the webhook cannot answer
// (only the controller and `ferry rollback` create them); a Release is let through
// then, so CI is not stopped by a controller restart, and the controller checks it.
func Install(ctx context.Context, cs kubernetes.Interface, baseURL string, caPEM []byte) error {
	cfg := &admissionregv1.ValidatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: ConfigurationName},
		Webhooks: []admissionregv1.ValidatingWebhook{
			hook("promotions.ferry.dev", "promotions", baseURL+PromotionPath, caPEM, admissionregv1.Fail),
			hook("releases.ferry.dev", "releases", baseURL+ReleasePath, caPEM, admissionregv1.Ignore),
		},
	}
	api := cs.AdmissionregistrationV1().ValidatingWebhookConfigurations()
	got, err := api.Get(ctx, ConfigurationName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		_, err = api.Create(ctx, cfg, metav1.CreateOptions{})
		return err
	}
	if err != nil {
		return err
	}
	got.Webhooks = cfg.Webhooks
	_, err = api.Update(ctx, got, metav1.UpdateOptions{})
	return err
}

func hook(name, resource, url string, caPEM []byte, policy admissionregv1.FailurePolicyType) admissionregv1.ValidatingWebhook {
	none := admissionregv1.SideEffectClassNone
	return admissionregv1.ValidatingWebhook{
		Name:                    name,
		ClientConfig:            admissionregv1.WebhookClientConfig{URL: &url, CABundle: caPEM},
		Rules:                   []admissionregv1.RuleWithOperations{{Operations: []admissionregv1.OperationType{admissionregv1.Create}, Rule: admissionregv1.Rule{APIGroups: []string{"ferry.dev"}, APIVersions: []string{"v1alpha1"}, Resources: []string{resource}}}},
		FailurePolicy:           &policy,
		SideEffects:             &none,
		AdmissionReviewVersions: []string{"v1"},
		TimeoutSeconds:          ptr.To(int32(5)),
	}
}
