package preview

import (
	"bytes"
	"context"
	"testing"

	"ferry.dev/ferry/internal/cli/iostreams"
)

func TestDeleteNeedsOnePreview(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"delete", "web"}, "give a pull request or a branch (--pr N or --branch B)"},
		{[]string{"delete", "web", "--pr", "7", "--branch", "x"}, "give a pull request or a branch, not both (--pr N or --branch B)"},
		{[]string{"delete", "web", "--pr", "-2"}, "pull request -2 is not a pull request number (expected 1 or more) (--pr N or --branch B)"},
		{[]string{"delete", "--pr", "7"}, "accepts 1 arg(s), received 0"},
	}
	for _, tt := range tests {
		var out bytes.Buffer
		cmd := NewCommand(iostreams.Streams{Out: &out, Err: &out})
		cmd.SetArgs(tt.args)
		cmd.SetOut(&out)
		cmd.SetErr(&out)
		err := cmd.ExecuteContext(context.Background())
		if err == nil || err.Error() != tt.want {
			t.Errorf("%v: error %v, want %q", tt.args, err, tt.want)
		}
	}
}
