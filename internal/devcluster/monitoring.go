package devcluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// What stands in for the Prometheus operator and kube-state-metrics, so that the alert
// rules Ferry installs with each deployment are evaluated by the cluster's Prometheus,
// and the alerts routed by its Alertmanager as the AlertmanagerConfig objects say.
const (
	procKubeState          = "kube-state-metrics"
	procRuleFiles          = "rule-files"
	procAlertmanagerConfig = "alertmanager-config"
	procAlertmanager       = "alertmanager"
)

// installMonitoringCRDs installs the prometheus-operator's PodMonitor, PrometheusRule and
// AlertmanagerConfig CRDs, so the deploy step applies an application's monitoring
// objects here too.
func (c Config) installMonitoringCRDs(ctx context.Context) error {
	file, err := c.cache().MonitoringCRDs()
	if err != nil {
		return err
	}
	crds, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	ap, err := c.adminApplier()
	if err != nil {
		return err
	}
	if err := ap.ApplyManifest(ctx, crds); err != nil {
		return fmt.Errorf("applying the prometheus-operator CRDs: %w", err)
	}
	for _, kind := range []struct{ apiVersion, kind string }{{"monitoring.coreos.com/v1", "PrometheusRule"}, {"monitoring.coreos.com/v1alpha1", "AlertmanagerConfig"}} {
		obj := &unstructured.Unstructured{Object: map[string]any{"apiVersion": kind.apiVersion, "kind": kind.kind}}
		if err := c.waitServed(obj, 30*time.Second); err != nil {
			return err
		}
	}
	return nil
}

// waitServed waits until the API serves the kind of obj, after its CRD was applied.
func (c Config) waitServed(obj *unstructured.Unstructured, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		// A fresh applier per try: each one reads the API's discovery anew.
		ap, err := c.adminApplier()
		if err != nil {
			return err
		}
		ok, err := ap.Serves(obj)
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return errors.Join(fmt.Errorf("%s is not served %s after its CRD was applied", obj.GetAPIVersion()+" "+obj.GetKind(), timeout), err)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// RuleFilesDir is where the rule-files process writes one rule file per PrometheusRule,
// and where Prometheus reads them.
func (c Config) RuleFilesDir() string { return filepath.Join(c.confDir("prometheus"), "rules") }

// startKubeStateMetrics runs `ferry dev kube-state-metrics`, which serves, computed from
// the pods and Deployments it watches, the kube-state-metrics series the alert rules read.
func (c Config) startKubeStateMetrics() error {
	p := process{name: procKubeState, bin: c.FerryBin, args: []string{"dev", "kube-state-metrics",
		"--kubeconfig=" + c.kubeconfig("prometheus"), "--listen=" + c.KubeStateMetricsAddr}}
	if _, err := c.start(p); err != nil {
		return err
	}
	return c.waitFor(procKubeState, 30*time.Second, c.health(procKubeState))
}

// startRuleFiles runs `ferry dev rule-files`, which writes the PrometheusRule objects'
// groups into RuleFilesDir and reloads Prometheus when they change. It creates the
// directory once it has read every rule, which is its sign of health.
func (c Config) startRuleFiles() error {
	p := process{name: procRuleFiles, bin: c.FerryBin, args: []string{"dev", "rule-files",
		"--kubeconfig=" + c.kubeconfig("prometheus"), "--dir=" + c.RuleFilesDir(), "--prometheus=http://" + c.PrometheusAddr}}
	if _, err := c.start(p); err != nil {
		return err
	}
	return c.waitFor(procRuleFiles, 30*time.Second, c.health(procRuleFiles))
}

// AlertmanagerConfigFile is Alertmanager's config, written by the alertmanager-config
// process.
func (c Config) AlertmanagerConfigFile() string {
	return filepath.Join(c.confDir("alertmanager"), "alertmanager.yml")
}

// startAlertmanagerConfig runs `ferry dev alertmanager-config`, which writes the
// AlertmanagerConfig objects' routes and receivers into Alertmanager's config, with the
// loopback mail relay as every receiver's, and reloads Alertmanager when it changes. It
// writes the file once it has read every object, so it runs before Alertmanager.
func (c Config) startAlertmanagerConfig() error {
	p := process{name: procAlertmanagerConfig, bin: c.FerryBin, args: []string{"dev", "alertmanager-config",
		"--kubeconfig=" + c.kubeconfig("alertmanager"), "--file=" + c.AlertmanagerConfigFile(),
		"--alertmanager=http://" + c.AlertmanagerAddr, "--smtp-smarthost=" + c.AlertSMTPAddr, "--smtp-from=" + c.AlertSMTPFrom}}
	if _, err := c.start(p); err != nil {
		return err
	}
	return c.waitFor(procAlertmanagerConfig, 30*time.Second, c.health(procAlertmanagerConfig))
}

// startAlertmanager runs Debian's Alertmanager on loopback, as a single instance: an
// empty cluster address turns off the gossip that would listen on every interface.
func (c Config) startAlertmanager() error {
	p := process{name: procAlertmanager, bin: "prometheus-alertmanager", args: []string{
		"--config.file=" + c.AlertmanagerConfigFile(),
		"--storage.path=" + c.dataDir("alertmanager"),
		"--web.listen-address=" + c.AlertmanagerAddr,
		"--web.external-url=http://" + c.AlertmanagerAddr,
		"--cluster.listen-address=",
	}}
	if _, err := c.start(p); err != nil {
		return err
	}
	return c.waitFor(procAlertmanager, 60*time.Second, c.health(procAlertmanager))
}
