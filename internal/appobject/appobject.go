// Package appobject turns a loaded app file into the Application object that carries it
// in the cluster.
package appobject

import (
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
	"ferry.dev/ferry/internal/appfile"
)

// Build returns the Application for f in namespace ns, named after its artifact.
func Build(f *appfile.File, ns string, source *ferryv1.AppSource) (*ferryv1.Application, error) {
	app := f.App
	if app.Build.Artifact == "" {
		return nil, fmt.Errorf("%s: build.artifact is required: it names the Application", f.Path)
	}
	merged, err := f.Merged()
	if err != nil {
		return nil, err
	}
	var stages []ferryv1.StageSpec
	for _, s := range app.AllStages() {
		st := ferryv1.StageSpec{Name: s.Name}
		for _, fl := range s.Flows {
			st.Flows = append(st.Flows, ferryv1.Flow(fl))
		}
		for _, t := range s.Target {
			st.Clusters = append(st.Clusters, t.ClusterID...)
		}
		if s.Approvers != nil {
			st.ApproverGroups = s.Approvers.Groups
			if s.Approvers.Quorum != nil {
				st.Quorum = int32(*s.Approvers.Quorum) //nolint:gosec // validated against the group count
			}
		}
		stages = append(stages, st)
	}
	return &ferryv1.Application{
		TypeMeta:   metav1.TypeMeta{APIVersion: ferryv1.GroupVersion.String(), Kind: "Application"},
		ObjectMeta: metav1.ObjectMeta{Name: app.Build.Artifact, Namespace: ns},
		Spec:       ferryv1.ApplicationSpec{AppFile: string(merged), Source: source, Stages: stages},
	}, nil
}
