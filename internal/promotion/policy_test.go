package promotion

import (
	"slices"
	"strings"
	"testing"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
)

var stages = []ferryv1.StageSpec{
	{Name: "dev", Flows: []ferryv1.Flow{"release", "pr"}},
	{Name: "preview", Flows: []ferryv1.Flow{"pr", "branch"}},
	{Name: "stage"},
	{Name: "prod", Flows: []ferryv1.Flow{"release"}, ApproverGroups: []string{"leads", "sre", "qa"}, Quorum: 2},
}

func names(s []ferryv1.StageSpec) []string {
	var out []string
	for _, x := range s {
		out = append(out, x.Name)
	}
	return out
}

func TestStagesFor(t *testing.T) {
	for flow, want := range map[ferryv1.Flow]string{
		"release": "dev stage prod", // a stage with no flows takes releases
		"pr":      "dev preview",
		"branch":  "preview",
	} {
		if got := strings.Join(names(StagesFor(stages, flow)), " "); got != want {
			t.Errorf("%s: %s, want %s", flow, got, want)
		}
	}
}

func TestUpstreamVerified(t *testing.T) {
	path := StagesFor(stages, "release")
	tests := []struct {
		stage    string
		verified []string
		ok       bool
		up       string
		err      bool
	}{
		{"dev", nil, true, "", false},
		{"stage", nil, false, "dev", false},
		{"stage", []string{"dev"}, true, "dev", false},
		{"prod", []string{"dev"}, false, "stage", false},
		{"preview", nil, false, "", true},
	}
	for _, tt := range tests {
		var v []ferryv1.VerifiedStage
		for _, s := range tt.verified {
			v = append(v, ferryv1.VerifiedStage{Stage: s})
		}
		ok, up, err := UpstreamVerified(path, tt.stage, v)
		if ok != tt.ok || up != tt.up || (err != nil) != tt.err {
			t.Errorf("%s after %v: ok=%v up=%q err=%v", tt.stage, tt.verified, ok, up, err)
		}
	}
}

func TestApprovalsCountDistinctUsersAndGroups(t *testing.T) {
	prod := stages[3]
	tests := []struct {
		name  string
		given []ferryv1.Approval
		want  []string
		ok    bool
	}{
		{"none", nil, nil, false},
		{"one", []ferryv1.Approval{{User: "ann", Group: "leads"}}, []string{"leads"}, false},
		{"same user twice", []ferryv1.Approval{{User: "ann", Group: "leads"}, {User: "ann", Group: "sre"}}, []string{"leads"}, false},
		{"same group twice", []ferryv1.Approval{{User: "ann", Group: "leads"}, {User: "bob", Group: "leads"}}, []string{"leads"}, false},
		{"foreign group", []ferryv1.Approval{{User: "ann", Group: "leads"}, {User: "eve", Group: "interns"}}, []string{"leads"}, false},
		{"quorum", []ferryv1.Approval{{User: "ann", Group: "leads"}, {User: "bob", Group: "sre"}}, []string{"leads", "sre"}, true},
	}
	for _, tt := range tests {
		v := Approvals(prod, tt.given)
		if !slices.Equal(v.Groups, tt.want) || v.Satisfied != tt.ok || v.Needed != 2 {
			t.Errorf("%s: %+v", tt.name, v)
		}
	}
	if v := Approvals(stages[0], nil); !v.Satisfied || v.Needed != 0 {
		t.Errorf("a stage without approvers: %+v", v)
	}
}

func TestCanApprove(t *testing.T) {
	prod := stages[3]
	given := []ferryv1.Approval{{User: "ann", Group: "leads"}}
	tests := []struct {
		user   string
		groups []string
		group  string
		err    string
	}{
		{"bob", []string{"sre"}, "sre", ""},
		{"bob", []string{"leads", "qa"}, "qa", ""},
		{"ann", []string{"leads", "sre"}, "", "ann has already approved (as leads)"},
		{"carl", []string{"leads"}, "", "every approver group carl belongs to has approved already"},
		{"eve", []string{"interns"}, "", "eve is not in an approver group of stage prod ([leads sre qa])"},
	}
	for _, tt := range tests {
		g, err := CanApprove(prod, given, tt.user, tt.groups)
		if g != tt.group || (tt.err == "") != (err == nil) || (err != nil && err.Error() != tt.err) {
			t.Errorf("%s %v: group %q err %v", tt.user, tt.groups, g, err)
		}
	}
	if _, err := CanApprove(stages[0], nil, "ann", []string{"leads"}); err == nil {
		t.Error("approved a stage that needs no approval")
	}
}

func TestSuperseded(t *testing.T) {
	got := Superseded([]Waiting{{"p-120", "1.2.0"}, {"p-130", "1.3.0"}, {"p-121", "1.2.1"}})
	if !slices.Equal(got, []string{"p-120", "p-121"}) {
		t.Errorf("got %v", got)
	}
	if got := Superseded([]Waiting{{"only", "1.0.0"}}); got != nil {
		t.Errorf("a single waiting promotion was superseded: %v", got)
	}
}

func decision(user, group string, d ferryv1.Decision) ferryv1.ApprovalDecision {
	return ferryv1.ApprovalDecision{Spec: ferryv1.ApprovalDecisionSpec{User: user, Group: group, Decision: d, Reason: "r"}}
}

func TestDecisions(t *testing.T) {
	prod := stages[3]
	given, rej := Decisions(prod, []ferryv1.ApprovalDecision{
		decision("ann", "leads", ferryv1.DecisionApprove),
		decision("ann", "sre", ferryv1.DecisionApprove),    // same user again: ignored
		decision("eve", "interns", ferryv1.DecisionReject), // not an approver group: ignored
		decision("bob", "sre", ferryv1.DecisionApprove),
	})
	if rej != nil || len(given) != 2 || given[0].User != "ann" || given[1].Group != "sre" {
		t.Fatalf("given %+v, rejected %+v", given, rej)
	}
	given, rej = Decisions(prod, []ferryv1.ApprovalDecision{
		decision("ann", "leads", ferryv1.DecisionApprove),
		decision("carl", "qa", ferryv1.DecisionReject),
	})
	if rej == nil || rej.Spec.User != "carl" || len(given) != 1 {
		t.Fatalf("given %+v, rejected %+v", given, rej)
	}
}
