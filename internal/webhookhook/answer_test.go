package webhookhook

import (
	"strings"
	"testing"
)

func TestParseAnswer(t *testing.T) {
	tests := []struct {
		in      string
		want    Answer
		wantErr string
	}{
		{`{"result":"pass","message":"change CHG-42 closed"}`, Answer{ResultPass, "change CHG-42 closed"}, ""},
		{` {"result":"fail"} `, Answer{Result: ResultFail}, ""},
		{"", Answer{}, "empty answer"},
		{"  ", Answer{}, "empty answer"},
		{"pass", Answer{}, "not a JSON object like"},
		{`["pass"]`, Answer{}, "not a JSON object like"},
		{`{"result":"pass"`, Answer{}, "not a JSON object like"},
		{`{"result":true}`, Answer{}, "not a JSON object like"},
		{`{"result":"pass","mesage":"typo"}`, Answer{}, `unknown field "mesage"`},
		{`{"result":"pass"}{"result":"fail"}`, Answer{}, "more after its JSON object"},
		{`{"message":"no verdict"}`, Answer{}, `no "result"`},
		{`{"result":"PASS"}`, Answer{}, `result "PASS" is neither "pass" nor "fail"`},
		{`{"result":"ok"}`, Answer{}, `result "ok" is neither`},
	}
	for _, tt := range tests {
		got, err := ParseAnswer(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseAnswer(%q) err = %v, want %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseAnswer(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
	}
}

func TestAnswerPassedAndKey(t *testing.T) {
	if !(Answer{Result: ResultPass}).Passed() || (Answer{Result: ResultFail}).Passed() {
		t.Error("Passed is wrong")
	}
	if got := AnnotationKey("change-ticket"); got != "hooks.ferry.dev/change-ticket" {
		t.Errorf("AnnotationKey = %s", got)
	}
}
