// Package webhookhook is how a delivery's webhook hook calls an outside system and learns
// its answer: the JSON payload sent, its HMAC signature, one bounded HTTP attempt turned
// into an outcome (passed, failed, pending or retry), the answer an outside system leaves
// later on the Promotion for a pending call, and the wait between attempts. The
// promotion reconciler decides when to call; this package only says what one call meant.
package webhookhook

import (
	"crypto/sha256"
	"encoding/hex"
	"time"
)

// PayloadType tells a receiver that serves several senders what it was sent.
const PayloadType = "ferry.hook"

// Payload is the JSON body of a hook call: what is being delivered, where, and which
// attempt this is.
type Payload struct {
	// Type is always PayloadType; Call sets it.
	Type string `json:"type"`
	// Hook is the hook's name in the app file.
	Hook string `json:"hook"`
	// Phase is ferryv1.StepPreDeploy or ferryv1.StepPostDeploy ("preDeploy", "postDeploy").
	Phase string `json:"phase"`
	// Application is the application's name.
	Application string `json:"application"`
	// Stage is the stage being delivered to.
	Stage string `json:"stage"`
	// Version is the release's version.
	Version string `json:"version"`
	// Release is the Release object's name.
	Release string `json:"release"`
	// Promotion is the Promotion object's name.
	Promotion string `json:"promotion"`
	// Namespace is the Promotion's namespace.
	Namespace string `json:"namespace"`
	// Images are the image references being delivered.
	Images Images `json:"images"`
	// Git is the source the release was built from.
	Git Git `json:"git"`
	// Attempt counts calls of this hook for this promotion, from 1.
	Attempt int `json:"attempt"`
	// SentAt is when the call was made; Call sets it when zero. It is sent in RFC 3339
	// to the second.
	SentAt time.Time `json:"sentAt"`
}

// Images are the image references of a release.
type Images struct {
	// App is the application's image.
	App string `json:"app"`
	// Tests is the image of the release's tests.
	Tests string `json:"tests"`
}

// Git names the commit a release was built from.
type Git struct {
	// Commit is the full commit hash.
	Commit string `json:"commit"`
	// Branch is the branch the commit was built on.
	Branch string `json:"branch"`
	// RepoURL is the repository's address.
	RepoURL string `json:"repoURL"`
}

// DeliveryID names one hook of one promotion. It is the same for every attempt, so a
// receiver that sees an id twice knows it is a retry of a call it may already have acted
// on. The phase is part of it because a pre- and a post-deploy hook may share a name.
func (p Payload) DeliveryID() string {
	sum := sha256.Sum256([]byte(p.Namespace + "/" + p.Promotion + "/" + p.Phase + "/" + p.Hook))
	return hex.EncodeToString(sum[:16])
}
