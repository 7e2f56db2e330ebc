// Package promotion holds the decisions of the delivery engine as pure functions over
// gathered facts: which stages a Release travels through, whether a stage's upstream is
// verified, whether approvals reach the quorum, and which waiting Promotion a newer
// Release supersedes. The reconcilers gather the facts and act on the answers.
package promotion

import (
	"fmt"
	"slices"
	"sort"

	"github.com/Masterminds/semver/v3"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
)

// StagesFor returns the stages a Release of the given flow travels through, in order: the
// stages whose flows include it (a stage that names no flows takes releases only).
func StagesFor(stages []ferryv1.StageSpec, flow ferryv1.Flow) []ferryv1.StageSpec {
	var out []ferryv1.StageSpec
	for _, s := range stages {
		flows := s.Flows
		if len(flows) == 0 {
			flows = []ferryv1.Flow{ferryv1.FlowRelease}
		}
		if slices.Contains(flows, flow) {
			out = append(out, s)
		}
	}
	return out
}

// Upstream returns the stage before stage on the Release's path, or "" for the first.
func Upstream(path []ferryv1.StageSpec, stage string) (string, error) {
	for i, s := range path {
		if s.Name == stage {
			if i == 0 {
				return "", nil
			}
			return path[i-1].Name, nil
		}
	}
	return "", fmt.Errorf("stage %q is not on this release's path", stage)
}

// UpstreamVerified reports whether the Release may enter stage: it is first on its path,
// or it was verified in the stage before.
func UpstreamVerified(path []ferryv1.StageSpec, stage string, verified []ferryv1.VerifiedStage) (bool, string, error) {
	up, err := Upstream(path, stage)
	if err != nil || up == "" {
		return err == nil, "", err
	}
	for _, v := range verified {
		if v.Stage == up {
			return true, up, nil
		}
	}
	return false, up, nil
}

// ApprovalVerdict is how far a stage's approvals have come.
type ApprovalVerdict struct {
	// Needed is the quorum: how many approver groups must approve.
	Needed int
	// Groups are the groups that have approved, each counted once.
	Groups []string
	// Satisfied is true when enough groups approved (or none are required).
	Satisfied bool
}

// Approvals counts approvals against a stage's approver groups and quorum. A user counts
// once, for the first group they approved as; an approval for a group the stage does not
// name counts for nothing.
func Approvals(stage ferryv1.StageSpec, given []ferryv1.Approval) ApprovalVerdict {
	needed := int(stage.Quorum)
	if needed == 0 {
		needed = len(stage.ApproverGroups)
	}
	users := map[string]bool{}
	groups := map[string]bool{}
	for _, a := range given {
		if users[a.User] || !slices.Contains(stage.ApproverGroups, a.Group) {
			continue
		}
		users[a.User] = true
		groups[a.Group] = true
	}
	var got []string
	for g := range groups {
		got = append(got, g)
	}
	sort.Strings(got)
	return ApprovalVerdict{Needed: needed, Groups: got, Satisfied: len(got) >= needed}
}

// CanApprove decides whether user, in userGroups, may approve: they must belong to one of
// the stage's approver groups not yet approved, and not have approved already. It returns
// the group the approval counts for.
func CanApprove(stage ferryv1.StageSpec, given []ferryv1.Approval, user string, userGroups []string) (string, error) {
	if len(stage.ApproverGroups) == 0 {
		return "", fmt.Errorf("stage %s needs no approval", stage.Name)
	}
	approved := map[string]bool{}
	for _, a := range given {
		if a.User == user {
			return "", fmt.Errorf("%s has already approved (as %s)", user, a.Group)
		}
		approved[a.Group] = true
	}
	member := false
	for _, g := range stage.ApproverGroups {
		if !slices.Contains(userGroups, g) {
			continue
		}
		member = true
		if !approved[g] {
			return g, nil
		}
	}
	if member {
		return "", fmt.Errorf("every approver group %s belongs to has approved already", user)
	}
	return "", fmt.Errorf("%s is not in an approver group of stage %s (%v)", user, stage.Name, stage.ApproverGroups)
}

// Waiting is a Promotion that has not started deploying, with its Release's version.
type Waiting struct {
	Name    string
	Version string
}

// Superseded returns the waiting Promotions of one stage that a newer one replaces: of
// all waiting, only the one with the highest version goes on. Running Promotions are
// never in the list: one runs to its end before the next starts.
func Superseded(waiting []Waiting) []string {
	if len(waiting) < 2 {
		return nil
	}
	best := -1
	var bestV *semver.Version
	for i, w := range waiting {
		v, err := semver.NewVersion(w.Version)
		if err != nil {
			continue
		}
		if bestV == nil || v.GreaterThan(bestV) {
			best, bestV = i, v
		}
	}
	var out []string
	for i, w := range waiting {
		if i != best && best >= 0 {
			out = append(out, w.Name)
		}
	}
	sort.Strings(out)
	return out
}

// Decisions folds the ApprovalDecisions of a Promotion into the approvals that count: for
// a group the stage names, each user once, in the order given. A rejection by a member of
// an approver group is returned too: it ends the Promotion.
func Decisions(stage ferryv1.StageSpec, decisions []ferryv1.ApprovalDecision) ([]ferryv1.Approval, *ferryv1.ApprovalDecision) {
	var given []ferryv1.Approval
	users := map[string]bool{}
	for i := range decisions {
		d := &decisions[i]
		if users[d.Spec.User] || !slices.Contains(stage.ApproverGroups, d.Spec.Group) {
			continue
		}
		users[d.Spec.User] = true
		if d.Spec.Decision == ferryv1.DecisionReject {
			return given, d
		}
		given = append(given, ferryv1.Approval{User: d.Spec.User, Group: d.Spec.Group, Time: d.CreationTimestamp})
	}
	return given, nil
}
