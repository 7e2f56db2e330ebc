package install

import (
	"context"
	"strings"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"

	"ferry.dev/ferry/internal/kubeapply"
)

// ServerAccount names the ServiceAccount `ferry server` runs as, and its ClusterRole
// and ClusterRoleBinding.
const ServerAccount = "ferry-server"

// DefaultNamespace is where Ferry's own identities live unless told otherwise.
const DefaultNamespace = "ferry-system"

// ferryResources are all of Ferry's kinds, which the server's API and dashboard read.
var ferryResources = []string{"analysistemplates", "applications", "approvaldecisions", "changerecords", "clusters",
	"extensions", "imagewatches", "promotions", "releases"}

// ServerRules are what `ferry server` needs, each group for one of its duties.
var ServerRules = []rbacv1.PolicyRule{
	// The API checks each caller's token and rights with the API server.
	{APIGroups: []string{"authentication.k8s.io"}, Resources: []string{"tokenreviews"}, Verbs: []string{"create"}},
	{APIGroups: []string{"authorization.k8s.io"}, Resources: []string{"subjectaccessreviews"}, Verbs: []string{"create"}},
	// A decision (approve, reject) is made as the person, so that RBAC and the
	// admission policy judge them: the server impersonates the whole identity. Extras
	// are impersonated per key (userextras/KEY) and RBAC has no pattern for the key, so
	// the rule names every resource of the group, for this one verb.
	{APIGroups: []string{""}, Resources: []string{"users", "groups", "serviceaccounts"}, Verbs: []string{"impersonate"}},
	{APIGroups: []string{"authentication.k8s.io"}, Resources: []string{"*"}, Verbs: []string{"impersonate"}},
	// The API and the dashboard read Ferry's objects (watched into a cache), their
	// Events, and the ConfigMaps that keep hook logs.
	{APIGroups: []string{"ferry.dev"}, Resources: ferryResources, Verbs: []string{"get", "list", "watch"}},
	{APIGroups: []string{"", "events.k8s.io"}, Resources: []string{"events"}, Verbs: []string{"get", "list", "watch"}},
	{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"get"}},
	// The webhooks: a push makes a Release or is noted on its Application in an Event,
	// a registry push asks ImageWatches to look, a closed pull request deletes its
	// preview (its namespace in each target cluster, reached with the Cluster's
	// credentials Secret, and its Releases).
	{APIGroups: []string{"ferry.dev"}, Resources: []string{"releases"}, Verbs: []string{"create", "delete"}},
	{APIGroups: []string{"ferry.dev"}, Resources: []string{"imagewatches"}, Verbs: []string{"patch"}},
	{APIGroups: []string{""}, Resources: []string{"events"}, Verbs: []string{"create"}},
	{APIGroups: []string{""}, Resources: []string{"namespaces"}, Verbs: []string{"get", "delete"}},
	{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get"}},
}

// ServerObjects are the namespace, ServiceAccount, ClusterRole and ClusterRoleBinding
// that give `ferry server` its rights, in the order they are applied.
func ServerObjects(namespace string) ([]*unstructured.Unstructured, error) {
	objs := []runtime.Object{
		&corev1.Namespace{TypeMeta: typeMeta("v1", "Namespace"), ObjectMeta: metav1.ObjectMeta{Name: namespace}},
		&corev1.ServiceAccount{TypeMeta: typeMeta("v1", "ServiceAccount"), ObjectMeta: metav1.ObjectMeta{Name: ServerAccount, Namespace: namespace}},
		&rbacv1.ClusterRole{TypeMeta: typeMeta("rbac.authorization.k8s.io/v1", "ClusterRole"), ObjectMeta: metav1.ObjectMeta{Name: ServerAccount},
			Rules: ServerRules},
		&rbacv1.ClusterRoleBinding{TypeMeta: typeMeta("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"), ObjectMeta: metav1.ObjectMeta{Name: ServerAccount},
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: ServerAccount},
			Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: ServerAccount, Namespace: namespace}}},
	}
	out := make([]*unstructured.Unstructured, 0, len(objs))
	for _, o := range objs {
		m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(o)
		if err != nil {
			return nil, err
		}
		u := &unstructured.Unstructured{Object: m}
		unstructured.RemoveNestedField(u.Object, "metadata", "creationTimestamp")
		out = append(out, u)
	}
	return out, nil
}

// Server applies ServerObjects and returns what it applied ("clusterrole ferry-server").
func Server(ctx context.Context, rc *rest.Config, namespace string) ([]string, error) {
	objs, err := ServerObjects(namespace)
	if err != nil {
		return nil, err
	}
	ap, err := kubeapply.New(rc, "ferry-install")
	if err != nil {
		return nil, err
	}
	var applied []string
	for _, o := range objs {
		if err := ap.Apply(ctx, o); err != nil {
			return applied, err
		}
		applied = append(applied, strings.ToLower(o.GetKind())+" "+o.GetName())
	}
	return applied, nil
}

func typeMeta(apiVersion, kind string) metav1.TypeMeta {
	return metav1.TypeMeta{APIVersion: apiVersion, Kind: kind}
}
