package kubebin

import "testing"

func TestReplaceLines(t *testing.T) {
	for _, c := range []struct {
		name, gomod, want string
		err               bool
	}{
		{
			name: "a block and a single line",
			gomod: "module example.com/m\n\ngo 1.23\n\nrequire (\n\tk8s.io/api v0.0.0\n)\n\n" +
				"replace (\n\tk8s.io/api v0.0.0 => k8s.io/api v0.29.3\n\tk8s.io/client-go v0.0.0 => k8s.io/client-go v0.29.3\n)\n\n" +
				"replace github.com/a/b => github.com/c/b v1.0.0\n",
			want: "replace (\nk8s.io/api v0.0.0 => k8s.io/api v0.29.3\nk8s.io/client-go v0.0.0 => k8s.io/client-go v0.29.3\n)\n" +
				"replace github.com/a/b => github.com/c/b v1.0.0\n",
		},
		{name: "none", gomod: "module example.com/m\n\nrequire example.com/x v1.0.0\n", want: ""},
		{name: "unterminated block", gomod: "module example.com/m\n\nreplace (\n\tk8s.io/api v0.0.0 => k8s.io/api v0.29.3\n", err: true},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := replaceLines([]byte(c.gomod))
			if (err != nil) != c.err {
				t.Fatalf("err = %v, want error %t", err, c.err)
			}
			if got != c.want {
				t.Errorf("got\n%s\nwant\n%s", got, c.want)
			}
		})
	}
}
