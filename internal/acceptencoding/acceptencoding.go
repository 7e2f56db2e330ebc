// Package acceptencoding reads a request's Accept-Encoding header, for the handlers of
// ferry server that send gzip to the clients that take it (the API's large answers, the
// dashboard's files).
package acceptencoding

import "strings"

// Gzip says whether an Accept-Encoding header takes gzip: listed, and not with q=0.
func Gzip(header string) bool {
	for _, part := range strings.Split(header, ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(coding), "gzip") {
			q := strings.ReplaceAll(params, " ", "")
			return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
		}
	}
	return false
}
