package approval

import (
	"errors"
	"testing"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
)

// TestCheck: who may decide on the waiting Promotion, as which group, and why not,
// each refusal of a kind the REST API answers with its own status.
func TestCheck(t *testing.T) {
	stage := ferryv1.StageSpec{Name: "prod", ApproverGroups: []string{"leads", "sre"}, Quorum: 2}
	waiting := &ferryv1.Promotion{Status: ferryv1.PromotionStatus{Approvals: []ferryv1.Approval{{User: "ann", Group: "leads"}}}}
	for _, tc := range []struct {
		name   string
		p      Pending
		who    Identity
		group  string
		want   string
		kind   error
		reason string
	}{
		{name: "a member of a group not yet counted", p: Pending{stage, waiting}, who: Identity{"bob", []string{"sre", "dev"}}, want: "sre"},
		{name: "the group asked for", p: Pending{stage, waiting}, who: Identity{"bob", []string{"leads", "sre"}}, group: "sre", want: "sre"},
		{name: "nothing waits", p: Pending{Stage: stage}, who: Identity{"bob", []string{"sre"}}, kind: ErrNotWaiting,
			reason: "no promotion waits for approval in prod"},
		{name: "outside the groups", p: Pending{stage, waiting}, who: Identity{"eve", []string{"interns"}}, kind: ErrNotApprover,
			reason: "eve is not in an approver group of stage prod ([leads sre])"},
		{name: "a group one is not in", p: Pending{stage, waiting}, who: Identity{"bob", []string{"sre"}}, group: "leads", kind: ErrNotApprover,
			reason: "bob is not in group leads"},
		{name: "a group already counted", p: Pending{stage, waiting}, who: Identity{"cat", []string{"leads"}}, kind: ErrNotApprover,
			reason: "every approver group cat belongs to has approved already"},
		{name: "twice", p: Pending{stage, waiting}, who: Identity{"ann", []string{"leads", "sre"}}, kind: ErrAlreadyDecided,
			reason: "ann has already approved (as leads)"},
	} {
		got, err := tc.p.Check(tc.who, tc.group)
		if got != tc.want || !errors.Is(err, tc.kind) || (err != nil) != (tc.kind != nil) || (err != nil && err.Error() != tc.reason) {
			t.Errorf("%s: %q, %v; want %q, %v (%s)", tc.name, got, err, tc.want, tc.kind, tc.reason)
		}
	}
}
