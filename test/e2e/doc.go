// Package e2e holds the end-to-end tests: they bring the dev cluster up, deploy real pods
// from the local registry, check traffic, DNS, RBAC, Prometheus and simulated nodes, and
// take the cluster down again. Run them with `make e2e` (build tag e2e, as root).
package e2e
