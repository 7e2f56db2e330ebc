package release

import (
	"fmt"
	"testing"

	"ferry.dev/ferry/internal/appfile"
)

func TestBuildSpec(t *testing.T) {
	for name, tc := range map[string]struct {
		build appfile.Build
		want  string
	}{
		"go":                    {appfile.Build{BuildType: "go"}, "svc r    map[] "},
		"go with tests":         {appfile.Build{BuildType: "go", Docker: &appfile.Docker{Tests: &appfile.DockerTests{ContextDir: "it"}}}, "svc r svc/it r-tests  map[] "},
		"docker, defaults":      {appfile.Build{BuildType: "docker"}, "svc r   svc/Dockerfile map[] "},
		"maven, its Dockerfile": {appfile.Build{BuildType: "maven", Docker: &appfile.Docker{App: &appfile.DockerApp{DockerFile: "build/app.Dockerfile", BuildArgs: map[string]string{"JDK": "21"}}}}, "svc r   svc/build/app.Dockerfile map[JDK:21] "},
		"docker, tests context": {appfile.Build{BuildType: "docker", Docker: &appfile.Docker{Tests: &appfile.DockerTests{ContextDir: "it"}}}, "svc r svc/it r-tests svc/Dockerfile map[] svc/it/Dockerfile"},
		"docker, tests file":    {appfile.Build{BuildType: "docker", Docker: &appfile.Docker{Tests: &appfile.DockerTests{DockerFile: "Dockerfile.tests"}}}, "svc r svc r-tests svc/Dockerfile map[] svc/Dockerfile.tests"},
	} {
		t.Run(name, func(t *testing.T) {
			b := buildSpec(tc.build, "svc", "r")
			got := fmt.Sprint(b.Package, " ", b.Repository, " ", b.TestsPackage, " ", b.TestsRepository, " ", b.Dockerfile, " ", b.BuildArgs, " ", b.TestsDockerfile)
			if got != tc.want {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}
