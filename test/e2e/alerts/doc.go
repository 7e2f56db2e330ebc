// Package alerts is the end-to-end test of the default alert rules installed with each
// deployment: on the dev cluster, a release whose pod crash-loops must make the real
// Prometheus fire the application's CrashLooping alert with its alert routes, the real
// Alertmanager must deliver it to the app's Slack channel (a fake incoming webhook on
// loopback) and mail addresses (an SMTP server on loopback), and the rule and the routes
// must leave Prometheus and Alertmanager when their objects are deleted. Run it with
// `go test -count=1 -tags e2e -v ./test/e2e/alerts/` (as root; it brings the cluster up
// and takes it down again).
package alerts
