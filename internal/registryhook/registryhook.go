// Package registryhook reads the notifications a distribution registry sends when
// content is pushed or pulled, and picks out the manifest pushes: each is a new image
// (or image index) that may start a release. Pulls, blob pushes, mounts and deletions
// are left out. The package is pure: the HTTP server reads the request and, if the
// registry's endpoint is configured with a fixed header, checks it with Authorize.
package registryhook

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Content-Types of the registry's notification requests. Distribution 3 sends the same
// envelope under the v2 name. Parse does not insist on either: the registry's docs ask
// endpoints to be accepting, since a refused envelope stays queued in the registry.
const (
	EventsMediaType   = "application/vnd.docker.distribution.events.v1+json"
	EventsMediaTypeV2 = "application/vnd.docker.distribution.events.v2+json"
)

// manifestMediaTypes are the media types of manifests and indexes, as opposed to blobs.
var manifestMediaTypes = map[string]bool{
	"application/vnd.docker.distribution.manifest.v1+json":      true,
	"application/vnd.docker.distribution.manifest.v1+prettyjws": true,
	"application/vnd.docker.distribution.manifest.v2+json":      true,
	"application/vnd.docker.distribution.manifest.list.v2+json": true,
	"application/vnd.oci.image.manifest.v1+json":                true,
	"application/vnd.oci.image.index.v1+json":                   true,
}

// Push is one manifest pushed to the registry.
type Push struct {
	// ID identifies the event. The registry delivers at least once, so the same ID may
	// arrive again.
	ID string
	// At is when the registry recorded the push; zero if it did not say.
	At time.Time
	// Registry is the registry's host (and port) as the pushing client addressed it.
	Registry string
	// Repository is the repository's name inside the registry, such as library/test.
	Repository string
	// Tag is the tag pushed; empty for a push by digest.
	Tag string
	// Digest is the manifest's digest, such as sha256:fea8....
	Digest string
	// MediaType is the manifest's media type.
	MediaType string
	// Actor is who pushed, when the registry authenticated them.
	Actor string
}

// envelope is the registry's notification body, trimmed to what a Push needs.
type envelope struct {
	Events []struct {
		ID        string `json:"id"`
		Timestamp string `json:"timestamp"`
		Action    string `json:"action"`
		Target    struct {
			MediaType  string `json:"mediaType"`
			Digest     string `json:"digest"`
			Repository string `json:"repository"`
			Tag        string `json:"tag"`
		} `json:"target"`
		Request struct {
			Host string `json:"host"`
		} `json:"request"`
		Actor struct {
			Name string `json:"name"`
		} `json:"actor"`
	} `json:"events"`
}

// Parse returns the manifest pushes in a notification envelope, in the order sent. An
// envelope holding none gives an empty list; only a body that is not an envelope is an
// error. A push that names no repository or digest is skipped: nothing could be
// deployed from it.
func Parse(body []byte) ([]Push, error) {
	var env envelope
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, fmt.Errorf("decoding registry notification envelope: %w", err)
	}
	var pushes []Push
	for _, ev := range env.Events {
		t := ev.Target
		if ev.Action != "push" || !isManifest(t.MediaType) || t.Repository == "" || t.Digest == "" {
			continue
		}
		pushes = append(pushes, Push{
			ID: ev.ID, At: parseTime(ev.Timestamp), Registry: ev.Request.Host,
			Repository: t.Repository, Tag: t.Tag, Digest: t.Digest, MediaType: t.MediaType,
			Actor: ev.Actor.Name,
		})
	}
	return pushes, nil
}

// isManifest reports whether mediaType names a manifest, ignoring parameters and case
// as media types allow.
func isManifest(mediaType string) bool {
	base, _, _ := strings.Cut(mediaType, ";")
	return manifestMediaTypes[strings.ToLower(strings.TrimSpace(base))]
}

// parseTime reads the event's timestamp; an odd one is zero rather than a reason to
// drop the push.
func parseTime(s string) time.Time {
	at, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}
	}
	return at.UTC()
}
