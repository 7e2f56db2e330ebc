package webhookhook

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// AnnotationPrefix starts the name of the Promotion annotation in which an outside system
// leaves its answer to a pending call: hooks.ferry.dev/<hook name>.
const AnnotationPrefix = "hooks.ferry.dev/"

// AnnotationKey is the annotation that holds the answer for the named hook.
func AnnotationKey(hook string) string {
	return AnnotationPrefix + hook
}

// The results an answer may give.
const (
	ResultPass = "pass"
	ResultFail = "fail"
)

// Answer is an outside system's late verdict on a call it accepted with 202, written as
// {"result":"pass","message":"..."}.
type Answer struct {
	// Result is ResultPass or ResultFail.
	Result string `json:"result"`
	// Message explains the result; it is shown on the Promotion.
	Message string `json:"message"`
}

// Passed says whether the answer lets the delivery go on.
func (a Answer) Passed() bool { return a.Result == ResultPass }

const answerForm = `{"result":"pass","message":"..."}`

// ParseAnswer reads an annotation's value. Unknown fields are refused so that a
// misspelt "message" is reported instead of silently lost.
func ParseAnswer(s string) (Answer, error) {
	if strings.TrimSpace(s) == "" {
		return Answer{}, fmt.Errorf("empty answer: want a JSON object like %s", answerForm)
	}
	dec := json.NewDecoder(strings.NewReader(s))
	dec.DisallowUnknownFields()
	var a Answer
	if err := dec.Decode(&a); err != nil {
		return Answer{}, fmt.Errorf("answer is not a JSON object like %s: %w", answerForm, err)
	}
	if err := dec.Decode(new(json.RawMessage)); !errors.Is(err, io.EOF) {
		return Answer{}, fmt.Errorf("answer has more after its JSON object: want one object like %s", answerForm)
	}
	switch a.Result {
	case ResultPass, ResultFail:
		return a, nil
	case "":
		return Answer{}, fmt.Errorf(`answer has no "result": want %q or %q`, ResultPass, ResultFail)
	default:
		return Answer{}, fmt.Errorf(`answer's result %q is neither %q nor %q`, a.Result, ResultPass, ResultFail)
	}
}
