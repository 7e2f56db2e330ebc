package api

import (
	"context"
	"encoding/json"
	"slices"
)

// verdict is a SubjectAccessReview's answer.
type verdict struct {
	allowed bool
	reason  string
}

// authorize asks the Reviewer whether u may make the access, remembering the answer
// (allowed or not) for reviewTTL: a dashboard page asks the same few questions for each
// of its requests, and a right granted or taken away counts within seconds.
func (a *API) authorize(ctx context.Context, u User, acc Access) (bool, string, error) {
	key := accessKey(u, acc)
	if v, ok := a.access.get(key); ok {
		return v.allowed, v.reason, nil
	}
	ok, reason, err := a.Reviews.Authorize(ctx, u, acc)
	if err != nil {
		return false, "", err // a failed review is asked again next time
	}
	a.access.put(key, verdict{allowed: ok, reason: reason})
	return ok, reason, nil
}

// accessKey is everything a review depends on, the user's groups in a fixed order.
func accessKey(u User, acc Access) string {
	groups := slices.Clone(u.Groups)
	slices.Sort(groups)
	b, _ := json.Marshal(struct { // maps marshal with sorted keys
		Name, UID string
		Groups    []string
		Extra     map[string][]string
		Access    Access
	}{u.Name, u.UID, groups, u.Extra, acc})
	return string(b)
}
