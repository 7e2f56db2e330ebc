package appfile

import (
	"fmt"

	"ferry.dev/ferry/internal/freeze"
)

// App is an application's delivery, as written in ferry.yml / kitt.yml after its profiles
// are merged under it. Field names are the file's keys.
type App struct {
	// Profiles are the layers merged under the file, earlier ones taking precedence.
	Profiles []string `yaml:"profiles"`
	// Owner is the team that owns the application.
	Owner Owner `yaml:"owner"`
	// Notify says where deliveries are announced.
	Notify Notify `yaml:"notify"`
	// Alerts routes the application's alerts; a stage's own alerts win.
	Alerts *Alerts `yaml:"alerts"`
	// Build says how the application and its test image are built.
	Build Build `yaml:"build"`
	// Deploy says where and how the application is deployed.
	Deploy Deploy `yaml:"deploy"`
	// Stages at the root are accepted as a synonym of deploy.stages.
	Stages []Stage `yaml:"stages"`

	// stageValues are each stage's effective helm values, in stage order, and stagePlain
	// the same as plain values for a chart.
	stageValues []Values
	stagePlain  []map[string]any
}

// Owner is the owning team.
type Owner struct {
	// Group is the team's group, the default approver group.
	Group string `yaml:"group"`
}

// Notify lists the channels a delivery is announced on.
type Notify struct {
	Slack    *Slack   `yaml:"slack"`
	Email    []string `yaml:"email"`
	Webhooks []string `yaml:"webhooks"`
}

// Slack is a Slack channel.
type Slack struct {
	ChannelName string `yaml:"channelName"`
}

// Alerts routes alerts to people.
type Alerts struct {
	Email        []string `yaml:"email"`
	SlackChannel string   `yaml:"slackChannel"`
}

// Build types.
const (
	BuildDocker = "docker"
	BuildMaven  = "maven"
	BuildGo     = "go"
	BuildNone   = "none"
)

// Build describes the application's image and its tests image.
type Build struct {
	// BuildType is docker, maven, go or none.
	BuildType string `yaml:"buildType"`
	// Artifact is the application's name, used for its image and objects.
	Artifact string `yaml:"artifact"`
	// Docker holds the Dockerfiles of the app and of its tests.
	Docker *Docker `yaml:"docker"`
}

// Docker holds the images to build.
type Docker struct {
	App   *DockerApp   `yaml:"app"`
	Tests *DockerTests `yaml:"tests"`
}

// DockerApp is the application image.
type DockerApp struct {
	DockerFile string            `yaml:"dockerFile"`
	BuildArgs  map[string]string `yaml:"buildArgs"`
}

// DockerTests is the image holding the application's regression tests, versioned with it.
type DockerTests struct {
	DockerFile string `yaml:"dockerFile"`
	ContextDir string `yaml:"contextDir"`
}

// Deploy is where and how the application runs.
type Deploy struct {
	// Namespace is the Kubernetes namespace in every target cluster.
	Namespace string `yaml:"namespace"`
	// ReleaseType is the release strategy and its timeout.
	ReleaseType ReleaseType `yaml:"releaseType"`
	// Stages are the ordered stages a version travels through.
	Stages []Stage `yaml:"stages"`
	// Helm holds the shared workload settings (and optionally a chart).
	Helm Helm `yaml:"helm"`
	// PreDeploy hooks run before the deployment of each stage, PostDeploy after it.
	PreDeploy  []Hook `yaml:"preDeploy"`
	PostDeploy []Hook `yaml:"postDeploy"`
	// CreateChangeRecord opens a change record for each production deployment.
	CreateChangeRecord *bool `yaml:"createChangeRecord"`
	// FreezeWindows are times when no stage deploys; each stage may add its own.
	FreezeWindows []FreezeWindow `yaml:"freezeWindows"`
	// PreviewTTL is how long a preview (a Release of flow pr or branch, deployed into
	// its own namespace) lives after it was made, as Go writes a duration (72h) or in
	// seconds; empty means the default of package preview (72h).
	PreviewTTL Duration `yaml:"previewTTL"`
}

// Strategies of ReleaseType.Strategy.
const (
	StrategyRolling   = "rolling"
	StrategyBlueGreen = "blueGreen"
	StrategyCanary    = "canary"
	StrategyABTest    = "abTest"
)

// ReleaseType is the release strategy.
type ReleaseType struct {
	// DeployTimeout is how long a rollout may take, in seconds.
	DeployTimeout *int `yaml:"deployTimeout"`
	// Strategy is rolling (default), blueGreen, canary or abTest.
	Strategy string `yaml:"strategy"`
	// Canary, BlueGreen and ABTest hold each strategy's settings.
	Canary    *Canary    `yaml:"canary"`
	BlueGreen *BlueGreen `yaml:"blueGreen"`
	ABTest    *ABTest    `yaml:"abTest"`
}

// Canary is a stepwise shift of traffic.
type Canary struct {
	// Steps run in order: setWeight, pause or analysis.
	Steps []CanaryStep `yaml:"steps"`
	// Interval and Increase are Keptn's shorthand: add Increase percent every Interval.
	Interval Duration `yaml:"interval"`
	Increase Percent  `yaml:"increase"`
	// Baseline runs pods of the stable version beside the canary, as many as the
	// canary has and started with it, for analyses to compare against (default: true
	// when the steps hold an analysis, or a background analysis runs).
	Baseline *bool `yaml:"baseline"`
	// Analysis runs in the background of the steps, from one of them to the last.
	Analysis *BackgroundAnalysis `yaml:"analysis"`
}

// BackgroundAnalysis measures its templates one interval apart for as long as the
// canary's steps run, from StartingStep on; the first failed or inconclusive
// measurement ends the canary, whatever step it is at.
type BackgroundAnalysis struct {
	Templates []string `yaml:"templates"`
	// StartingStep is the step, counted from 1, whose start starts the analysis
	// (default 1: the canary's start).
	StartingStep *int `yaml:"startingStep"`
}

// CanaryStep is one step; exactly one field is set.
type CanaryStep struct {
	SetWeight *int          `yaml:"setWeight"`
	Pause     *Pause        `yaml:"pause"`
	Analysis  *AnalysisStep `yaml:"analysis"`
}

// Pause waits for a duration, or until approved when Duration is empty.
type Pause struct {
	Duration Duration `yaml:"duration"`
}

// AnalysisStep measures the named AnalysisTemplates (in the Application's namespace)
// against the Prometheus of each target cluster.
type AnalysisStep struct {
	Templates []string `yaml:"templates"`
	// Measurements is how many times each template is measured, one template interval
	// apart, the first one interval after the step begins (default 1). The first failed
	// measurement ends the step.
	Measurements *int `yaml:"measurements"`
	// Inconclusive is what a measurement without data does: fail (the default) or pause
	// (the step waits until a person resumes it).
	Inconclusive string `yaml:"inconclusive"`
}

// What an inconclusive analysis does.
const (
	InconclusiveFail  = "fail"
	InconclusivePause = "pause"
)

// BlueGreen runs the new version beside the old one.
type BlueGreen struct {
	// ScaleDownDelay is how long the old version stays scaled after the switch.
	ScaleDownDelay Duration `yaml:"scaleDownDelay"`
}

// ABTest sends the requests that a header or a cookie marks to the new version, through
// the HTTPRoute of the target cluster's Gateway; every other request stays on the stable
// version until the steps passed.
type ABTest struct {
	// Header and Cookie name what marks a request (either one marks it).
	Header string `yaml:"header"`
	Cookie string `yaml:"cookie"`
	// Value is the value the header or cookie must hold; empty means any value.
	Value string `yaml:"value"`
	// Steps run while the marked requests go to the new version: pause and analysis
	// (default: one pause until a person resumes it).
	Steps []CanaryStep `yaml:"steps"`
	// Baseline runs pods of the stable version beside the new one for analyses to
	// compare against (default: true when the steps hold an analysis).
	Baseline *bool `yaml:"baseline"`
}

// Flows a stage can take.
const (
	FlowRelease = "release"
	FlowPR      = "pr"
	FlowBranch  = "branch"
)

// Stage is one step of the journey (dev, stage, prod...).
type Stage struct {
	Name string `yaml:"name"`
	// Flows are the flows (release, pr, branch) that deploy to this stage.
	Flows []string `yaml:"flows"`
	// Target lists the clusters, as [{cluster_id: [ids...]}].
	Target []Target `yaml:"target"`
	// Namespace overrides deploy.namespace for this stage, so that stages sharing a
	// cluster do not share objects.
	Namespace string `yaml:"namespace"`
	// Approvers must approve before the stage deploys.
	Approvers *Approvers `yaml:"approvers"`
	// Helm overrides the shared workload settings for this stage.
	Helm *Helm `yaml:"helm"`
	// Alerts override the application's alert routes.
	Alerts *Alerts `yaml:"alerts"`
	// ReleaseType overrides the strategy for this stage.
	ReleaseType *ReleaseType `yaml:"releaseType"`
	// CreateChangeRecord overrides deploy.createChangeRecord.
	CreateChangeRecord *bool `yaml:"createChangeRecord"`
	// FreezeWindows are times when this stage does not deploy, besides
	// deploy.freezeWindows.
	FreezeWindows []FreezeWindow `yaml:"freezeWindows"`
}

// FreezeWindow is a time during which deployments wait: recurring (cron and duration)
// or fixed (start and end), read by the rules of package freeze.
type FreezeWindow struct {
	// Name says which window holds a deployment back (default: the window's field path).
	Name string `yaml:"name"`
	// Cron is the schedule of the window's starts, five fields or a descriptor such as
	// @weekly; Duration is how long each lasts, as Go writes it (64h, 30m).
	Cron     string `yaml:"cron"`
	Duration string `yaml:"duration"`
	// Start and End bound a fixed window, RFC 3339 or YYYY-MM-DD (a whole day, so that
	// an end date is frozen too).
	Start string `yaml:"start"`
	End   string `yaml:"end"`
	// TimeZone is the IANA zone the cron and the dates are read in (default UTC).
	TimeZone string `yaml:"timeZone"`
}

func (w FreezeWindow) spec() freeze.Spec {
	return freeze.Spec{Name: w.Name, Cron: w.Cron, Duration: w.Duration, Start: w.Start, End: w.End, TimeZone: w.TimeZone}
}

// FreezeWindows returns the windows during which a stage does not deploy: the
// application's (deploy.freezeWindows), then the stage's own. A window without a name is
// named by its field path, so that a waiting deployment can say which one holds it.
func (a *App) FreezeWindows(stage string) ([]freeze.Window, error) {
	s, _, err := a.Stage(stage)
	if err != nil {
		return nil, err
	}
	stagePath := fmt.Sprintf("%s.freezeWindows", a.stagePath(stage))
	out := make([]freeze.Window, 0, len(a.Deploy.FreezeWindows)+len(s.FreezeWindows))
	for _, list := range []struct {
		path    string
		windows []FreezeWindow
	}{{"deploy.freezeWindows", a.Deploy.FreezeWindows}, {stagePath, s.FreezeWindows}} {
		for i, fw := range list.windows {
			if fw.Name == "" {
				fw.Name = fmt.Sprintf("%s[%d]", list.path, i)
			}
			w, err := freeze.Parse(fw.spec())
			if err != nil {
				return nil, fmt.Errorf("freeze window %q: %w", fw.Name, err)
			}
			out = append(out, w)
		}
	}
	return out, nil
}

// stagePath returns the field path of the named stage, as validation reports it.
func (a *App) stagePath(stage string) string {
	list := "deploy.stages"
	if len(a.Deploy.Stages) == 0 {
		list = "stages"
	}
	for i, s := range a.AllStages() {
		if s.Name == stage {
			return fmt.Sprintf("%s[%d]", list, i)
		}
	}
	return list
}

// Target is a set of clusters.
type Target struct {
	ClusterID []string `yaml:"cluster_id"`
}

// Approvers are the groups whose members approve, and how many approvals are needed.
type Approvers struct {
	Groups []string `yaml:"groups"`
	Quorum *int     `yaml:"quorum"`
}

// Helm holds the workload settings and an optional chart.
type Helm struct {
	// Chart is rendered with the values instead of the built-in objects: a local path
	// (relative to the app file), or a chart name in Repo.
	Chart string `yaml:"chart"`
	// Repo is the chart repository URL when Chart is a name in it.
	Repo string `yaml:"repo"`
	// Version is the chart version to take from Repo (default: the newest).
	Version string `yaml:"version"`
	// Values are the workload settings; with a chart, whatever the chart takes.
	Values Values `yaml:"values"`
}

// Values are the workload settings shared by every stage.
type Values struct {
	LivenessProbe  *Probe            `yaml:"livenessProbe"`
	ReadinessProbe *Probe            `yaml:"readinessProbe"`
	Min            *Resources        `yaml:"min"`
	Max            *Resources        `yaml:"max"`
	Scaling        *Scaling          `yaml:"scaling"`
	Global         *Global           `yaml:"global"`
	Env            map[string]string `yaml:"env"`
	Port           *int              `yaml:"port"`
	Image          string            `yaml:"image"`
	// NodeSelector and Tolerations choose the nodes the pods run on.
	NodeSelector map[string]string `yaml:"nodeSelector"`
	Tolerations  []Toleration      `yaml:"tolerations"`
}

// Toleration lets pods run on nodes with a matching taint.
type Toleration struct {
	Key      string `yaml:"key"`
	Operator string `yaml:"operator"`
	Value    string `yaml:"value"`
	Effect   string `yaml:"effect"`
}

// Probe is a liveness or readiness probe.
type Probe struct {
	Enabled *bool `yaml:"enabled"`
	// ProbeInterval is the period in seconds.
	ProbeInterval *int   `yaml:"probeInterval"`
	Path          string `yaml:"path"`
}

// Resources are CPU and memory quantities.
type Resources struct {
	CPU    Quantity `yaml:"cpu"`
	Memory Quantity `yaml:"memory"`
}

// Scaling is horizontal autoscaling.
type Scaling struct {
	Enabled    *bool `yaml:"enabled"`
	CPUPercent *int  `yaml:"cpuPercent"`
	Min        *int  `yaml:"min"`
	Max        *int  `yaml:"max"`
	// Custom scales on PrometheusQueries instead of CPU.
	Custom            *bool                      `yaml:"custom"`
	PrometheusQueries map[string]PrometheusQuery `yaml:"prometheusQueries"`
	CronScale         *CronScale                 `yaml:"cronscale"`
}

// PrometheusQuery is an application metric to scale on.
type PrometheusQuery struct {
	QueryContent       string `yaml:"queryContent"`
	TargetAverageValue string `yaml:"targetAverageValue"`
}

// CronScale is a scheduled scaling window.
type CronScale struct {
	ScaleUp   *CronWindow `yaml:"scaleUp"`
	ScaleDown *CronWindow `yaml:"scaleDown"`
}

// CronWindow sets the replica range from a cron schedule on.
type CronWindow struct {
	Schedule Schedule `yaml:"schedule"`
	Min      *int     `yaml:"min"`
	Max      *int     `yaml:"max"`
}

// Global holds settings shared with the platform.
type Global struct {
	Metrics *Metrics `yaml:"metrics"`
}

// Metrics is how the application's metrics are scraped.
type Metrics struct {
	Enabled                *bool            `yaml:"enabled"`
	Endpoints              []MetricEndpoint `yaml:"endpoints"`
	RemoteWriteSampleLimit *int             `yaml:"remoteWriteSampleLimit"`
	// Whitelist keeps only these metric names.
	Whitelist []string `yaml:"whitelist"`
}

// MetricEndpoint is a port and path serving metrics.
type MetricEndpoint struct {
	TargetPort *int   `yaml:"targetPort"`
	Path       string `yaml:"path"`
}

// Hook is a pre- or post-deploy hook; exactly one of its fields is set.
type Hook struct {
	Job     *JobHook     `yaml:"job"`
	Webhook *WebhookHook `yaml:"webhook"`
	// Concord is the kitt form of a webhook hook.
	Concord *ConcordHook `yaml:"concord"`
}

// JobHook runs a Kubernetes Job.
type JobHook struct {
	Name                     string            `yaml:"name"`
	Action                   string            `yaml:"action"`
	TimeoutSeconds           *int              `yaml:"timeoutSeconds"`
	PollPeriodSeconds        *int              `yaml:"pollPeriodSeconds"`
	Namespace                string            `yaml:"namespace"`
	NamePrefix               string            `yaml:"namePrefix"`
	Image                    string            `yaml:"image"`
	Env                      map[string]string `yaml:"env"`
	Command                  []string          `yaml:"command"`
	FetchJobLogsAfterPolling *bool             `yaml:"fetchJobLogsAfterPolling"`
}

// WebhookHook calls an outside system and waits for its answer.
type WebhookHook struct {
	Name           string            `yaml:"name"`
	URL            string            `yaml:"url"`
	Headers        map[string]string `yaml:"headers"`
	TimeoutSeconds *int              `yaml:"timeoutSeconds"`
	// SecretRef names the Secret, in the Promotion's namespace, whose key holds the
	// HMAC secret each call is signed with; without it calls are sent unsigned.
	SecretRef *SecretRef `yaml:"secretRef"`
}

// SecretRef names one key of a Secret.
type SecretRef struct {
	Name string `yaml:"name"`
	// Key defaults to "secret".
	Key string `yaml:"key"`
}

// ConcordHook starts a Concord process; it maps onto a webhook hook.
type ConcordHook struct {
	Name    string `yaml:"name"`
	Action  string `yaml:"action"`
	Org     string `yaml:"org"`
	Project string `yaml:"project"`
	Repo    string `yaml:"repo"`
}
