package imagewatch

import (
	"context"
	"reflect"

	"sigs.k8s.io/controller-runtime/pkg/client"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
	"ferry.dev/ferry/internal/imagewatch"
	"ferry.dev/ferry/internal/release"
)

// makeRelease returns the Release of the image, made now unless one of the application
// already delivers that digest (a restart between the Release and the status write
// makes no second one). The version is the tag when it is one, else the next patch.
func makeRelease(ctx context.Context, c client.Client, iw *ferryv1.ImageWatch, res imagewatch.Result) (string, error) {
	list := &ferryv1.ReleaseList{}
	if err := c.List(ctx, list, client.InNamespace(iw.Namespace), client.MatchingLabels{ferryv1.LabelApplication: iw.Spec.Application}); err != nil {
		return "", err
	}
	for _, rel := range list.Items {
		for _, img := range rel.AppImages() {
			if img.Name == "app" && img.Digest == res.Digest && img.Repository == iw.Spec.Repository {
				return rel.Name, nil
			}
		}
	}
	rel, err := release.Create(ctx, c, known{res.Digest}, release.Options{Namespace: iw.Namespace, Application: iw.Spec.Application,
		Image: iw.Spec.Repository + ":" + res.Tag, CreatedBy: "imagewatch/" + iw.Name})
	if err != nil {
		return "", err
	}
	return rel.Name, nil
}

// known resolves the image to the digest the poller just read: no second request.
type known struct{ digest string }

func (k known) Digest(context.Context, string) (string, error) { return k.digest, nil }

func apiequal(a, b ferryv1.ImageWatchStatus) bool { return reflect.DeepEqual(a, b) }
