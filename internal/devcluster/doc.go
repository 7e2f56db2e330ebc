// Package devcluster runs a real single-node Kubernetes on this machine without Docker:
// etcd, kube-apiserver, kube-controller-manager, kube-scheduler, a kubelet on containerd
// and runc, kube-proxy, CoreDNS, a container registry and Prometheus, each a process it
// starts and tracks by pid, plus kwok's simulated nodes for scale tests.
//
// Every address it uses stays on the machine: the pod CIDR lives on a local bridge, the
// Service CIDR and the simulated pod CIDR are routed to the local table before anything
// starts, and the API server, the kubelet and the node's address sit on that bridge.
package devcluster
