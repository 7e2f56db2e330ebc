package imagewatch

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
)

// dockerConfig is the .dockerconfigjson of a kubernetes.io/dockerconfigjson Secret.
type dockerConfig struct {
	Auths map[string]struct {
		Auth     string `json:"auth"`
		Username string `json:"username"`
		Password string `json:"password"`
	} `json:"auths"`
}

// FromDockerConfig finds the registry's credentials in a .dockerconfigjson document and
// returns them with an id that tells them apart without holding them. A registry the
// document does not name is an error: anonymous reads would hide a mistyped host.
func FromDockerConfig(doc []byte, registry string) (authn.Authenticator, string, error) {
	var cfg dockerConfig
	if err := json.Unmarshal(doc, &cfg); err != nil {
		return nil, "", fmt.Errorf("not a .dockerconfigjson document: %w", err)
	}
	for host, a := range cfg.Auths {
		if strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(host, "https://"), "http://"), "/") != registry {
			continue
		}
		user, pass := a.Username, a.Password
		if a.Auth != "" {
			raw, err := base64.StdEncoding.DecodeString(a.Auth)
			if err != nil {
				return nil, "", fmt.Errorf("the auth of %s is not base64", host)
			}
			var ok bool
			if user, pass, ok = strings.Cut(string(raw), ":"); !ok {
				return nil, "", fmt.Errorf("the auth of %s is not USER:PASSWORD", host)
			}
		}
		sum := sha256.Sum256([]byte(registry + "\x00" + user + "\x00" + pass))
		return &authn.Basic{Username: user, Password: pass}, hex.EncodeToString(sum[:8]), nil
	}
	return nil, "", fmt.Errorf("no credentials for registry %s", registry)
}
