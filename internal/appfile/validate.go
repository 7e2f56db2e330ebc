package appfile

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"

	"ferry.dev/ferry/internal/freeze"
)

// validator checks the meaning of a decoded App; positions come from the decoder.
type validator struct {
	p   *problems
	pos map[string]Source
}

// at returns the source of path, or of its nearest ancestor that has one.
func (v *validator) at(path string) Source {
	for p := path; ; {
		if s, ok := v.pos[p]; ok {
			return s
		}
		i := strings.LastIndexAny(p, ".[")
		if i < 0 {
			return v.pos[""]
		}
		p = p[:i]
	}
}

func (v *validator) add(path, format string, args ...any) {
	v.p.add(v.at(path), path, format, args...)
}

func (v *validator) oneOf(path, val string, allowed ...string) {
	if val != "" && !slices.Contains(allowed, val) {
		msg := fmt.Sprintf("%q is not allowed (expected one of: %s)", val, strings.Join(allowed, ", "))
		if s := suggest(val, allowed); s != "" {
			msg = fmt.Sprintf("%q is not allowed (did you mean %q?)", val, s)
		}
		v.add(path, "%s", msg)
	}
}

func (v *validator) rangeInt(path string, val *int, lo, hi int) {
	if val != nil && (*val < lo || *val > hi) {
		v.add(path, "%d is out of range (expected %d to %d)", *val, lo, hi)
	}
}

// positiveDuration checks that a duration, when set, is above zero; its form was
// checked when it was decoded.
func (v *validator) positiveDuration(path string, val Duration) {
	if val == "" {
		return
	}
	if d, err := ParseDuration(string(val)); err == nil && d <= 0 {
		v.add(path, "%q is out of range (expected a duration above 0, such as 72h)", val)
	}
}

func (v *validator) dnsLabel(path, val string) {
	if val == "" {
		return
	}
	if errs := validation.IsDNS1123Label(val); len(errs) > 0 {
		v.add(path, "%q is not a valid name (expected lowercase letters, digits and '-', at most 63 characters)", val)
	}
}

// app checks the whole file; stageValues are each stage's effective values.
func (v *validator) app(a *App, stagesPath string, stageValues []Values) {
	v.oneOf("build.buildType", a.Build.BuildType, BuildDocker, BuildMaven, BuildGo, BuildNone)
	v.dnsLabel("build.artifact", a.Build.Artifact)
	v.dnsLabel("deploy.namespace", a.Deploy.Namespace)
	v.emails("notify.email", a.Notify.Email)
	v.webhooks("notify.webhooks", a.Notify.Webhooks)
	if a.Alerts != nil {
		v.emails("alerts.email", a.Alerts.Email)
	}
	v.releaseType("deploy.releaseType", &a.Deploy.ReleaseType)
	v.hooks("deploy.preDeploy", a.Deploy.PreDeploy)
	v.hooks("deploy.postDeploy", a.Deploy.PostDeploy)
	v.freezeWindows("deploy.freezeWindows", a.Deploy.FreezeWindows)
	v.positiveDuration("deploy.previewTTL", a.Deploy.PreviewTTL)
	v.values("deploy.helm.values", a.Deploy.Helm.Values)
	if h := a.Deploy.Helm; h.Chart == "" && (h.Repo != "" || h.Version != "") {
		v.add("deploy.helm.repo", "repo and version name where to find deploy.helm.chart, which is not set")
	} else if h.Repo != "" && !strings.HasPrefix(h.Repo, "http://") && !strings.HasPrefix(h.Repo, "https://") {
		v.add("deploy.helm.repo", "%q is not an http(s) chart repository URL", h.Repo)
	}
	if len(a.Stages) > 0 && len(a.Deploy.Stages) > 0 {
		v.add("stages", "stages are given both at the root and under deploy (expected one list, preferably deploy.stages)")
	}
	v.stages(stagesPath, a.AllStages(), stageValues)
}

func (v *validator) emails(path string, list []string) {
	for i, e := range list {
		if at := strings.Index(e, "@"); at <= 0 || at == len(e)-1 {
			v.add(fmt.Sprintf("%s[%d]", path, i), "%q is not an email address", e)
		}
	}
}

// webhooks are notification webhooks: an http(s) URL, or secret:NAME/KEY for a URL
// that holds a token (a Secret in the application's namespace).
func (v *validator) webhooks(path string, list []string) {
	for i, w := range list {
		if _, _, ok := WebhookSecret(w); ok {
			continue
		}
		if u, err := url.Parse(w); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			v.add(fmt.Sprintf("%s[%d]", path, i), "expected an http(s) URL, or secret:NAME/KEY naming a Secret key that holds one")
		}
	}
}

// WebhookSecret reads a notify.webhooks entry of the form secret:NAME/KEY.
func WebhookSecret(w string) (name, key string, ok bool) {
	ref, found := strings.CutPrefix(w, "secret:")
	if !found {
		return "", "", false
	}
	name, key, found = strings.Cut(ref, "/")
	if !found || name == "" || key == "" || strings.Contains(key, "/") {
		return "", "", false
	}
	return name, key, true
}

func (v *validator) stages(path string, stages []Stage, values []Values) {
	seen := map[string]int{}
	for i, s := range stages {
		sp := fmt.Sprintf("%s[%d]", path, i)
		if s.Name == "" {
			v.add(sp, "a stage needs a name (expected name: dev, stage, prod...)")
		} else if first, dup := seen[s.Name]; dup {
			v.add(sp+".name", "stage name %q is used twice (first at %s)", s.Name, v.at(fmt.Sprintf("%s[%d].name", path, first)))
		} else {
			seen[s.Name] = i
			v.dnsLabel(sp+".name", s.Name)
		}
		for j, f := range s.Flows {
			v.oneOf(fmt.Sprintf("%s.flows[%d]", sp, j), f, FlowRelease, FlowPR, FlowBranch)
		}
		if s.Namespace != "" {
			v.dnsLabel(sp+".namespace", s.Namespace)
		}
		ids := 0
		for _, t := range s.Target {
			ids += len(t.ClusterID)
		}
		if ids == 0 {
			v.add(sp, "stage %q has no target (expected target: [{cluster_id: [ID...]}])", s.Name)
		}
		if a := s.Approvers; a != nil {
			if a.Quorum != nil && (*a.Quorum < 1 || *a.Quorum > len(a.Groups)) {
				v.add(sp+".approvers.quorum", "quorum %d is more than the %d approver group(s) can give (expected 1 to %d)", *a.Quorum, len(a.Groups), len(a.Groups))
			}
		}
		if s.ReleaseType != nil {
			v.releaseType(sp+".releaseType", s.ReleaseType)
		}
		if s.Helm != nil && (s.Helm.Chart != "" || s.Helm.Repo != "" || s.Helm.Version != "") {
			v.add(sp+".helm.chart", "a stage overrides values only (expected the chart in deploy.helm)")
		}
		if s.Alerts != nil {
			v.emails(sp+".alerts.email", s.Alerts.Email)
		}
		v.freezeWindows(sp+".freezeWindows", s.FreezeWindows)
		if i < len(values) {
			v.values(sp+".helm.values", values[i])
		}
	}
}

func (v *validator) releaseType(path string, r *ReleaseType) {
	if r.DeployTimeout != nil && *r.DeployTimeout <= 0 {
		v.add(path+".deployTimeout", "%d is out of range (expected a number of seconds above 0)", *r.DeployTimeout)
	}
	v.oneOf(path+".strategy", r.Strategy, StrategyRolling, StrategyBlueGreen, StrategyCanary, StrategyABTest)
	if r.Strategy == StrategyCanary && r.Canary == nil {
		v.add(path+".canary", "a canary release needs canary.steps, or canary.interval with canary.increase")
	}
	if c := r.Canary; c != nil {
		v.canaryShorthand(path+".canary", c)
		v.canarySteps(path+".canary.steps", c.Steps, true)
		v.backgroundAnalysis(path+".canary.analysis", c)
	}
	if r.Strategy == StrategyABTest && r.ABTest == nil {
		v.add(path+".abTest", "an A/B test needs abTest.header or abTest.cookie to mark requests")
	}
	if ab := r.ABTest; ab != nil {
		v.abTest(path+".abTest", ab)
	}
}

// canarySteps checks each step has one kind; an A/B test's steps have no weights.
func (v *validator) canarySteps(path string, steps []CanaryStep, weights bool) {
	for i, st := range steps {
		sp := fmt.Sprintf("%s[%d]", path, i)
		set := 0
		for _, ok := range []bool{st.SetWeight != nil, st.Pause != nil, st.Analysis != nil} {
			if ok {
				set++
			}
		}
		switch {
		case !weights && st.SetWeight != nil:
			v.add(sp+".setWeight", "an A/B test routes by header or cookie, not by weight (expected pause or analysis)")
		case set != 1 && weights:
			v.add(sp, "a step has exactly one of setWeight, pause, analysis (found %d)", set)
		case set != 1:
			v.add(sp, "a step has exactly one of pause, analysis (found %d)", set)
		}
		v.rangeInt(sp+".setWeight", st.SetWeight, 0, 100)
		if a := st.Analysis; a != nil {
			v.analysisStep(sp+".analysis", a)
		}
	}
}

// httpToken is a header or cookie name as HTTP (and the Gateway API) allow it.
var httpToken = regexp.MustCompile("^[A-Za-z0-9!#$%&'*+.^_`|~-]+$")

func (v *validator) abTest(path string, ab *ABTest) {
	if ab.Header == "" && ab.Cookie == "" {
		v.add(path, "an A/B test needs a header or a cookie to match")
	}
	if ab.Header != "" && !httpToken.MatchString(ab.Header) {
		v.add(path+".header", "%q is not a header name (expected letters, digits and !#$%%&'*+.^_`|~-)", ab.Header)
	}
	if ab.Cookie != "" && !httpToken.MatchString(ab.Cookie) {
		v.add(path+".cookie", "%q is not a cookie name (expected letters, digits and !#$%%&'*+.^_`|~-)", ab.Cookie)
	}
	if strings.ContainsAny(ab.Value, ";,\" \t\r\n") {
		v.add(path+".value", "%q cannot be matched in a header or a cookie (no spaces, quotes, commas or semicolons)", ab.Value)
	}
	v.canarySteps(path+".steps", ab.Steps, false)
}

// canaryShorthand checks Keptn's form (interval with increase), which replaces steps.
func (v *validator) canaryShorthand(path string, c *Canary) {
	short := c.Interval != "" || c.Increase != ""
	switch {
	case short && len(c.Steps) > 0:
		v.add(path, "a canary has steps, or interval with increase, not both")
	case short && (c.Interval == "" || c.Increase == ""):
		v.add(path, "interval and increase go together (found only one)")
	case short && c.Increase.Percent() == 0:
		v.add(path+".increase", "0%% would never finish (expected 1%% to 100%%)")
	case !short && len(c.Steps) == 0:
		v.add(path, "a canary release needs steps, or interval with increase")
	}
}

// backgroundAnalysis checks a canary's background analysis: templates, and a starting
// step among the steps (Keptn's shorthand has two a weight: set, then a pause).
func (v *validator) backgroundAnalysis(path string, c *Canary) {
	a := c.Analysis
	if a == nil {
		return
	}
	v.templateNames(path+".templates", a.Templates, "a background analysis")
	steps := len(c.Steps)
	if steps == 0 {
		if inc := c.Increase.Percent(); inc > 0 {
			steps = 2 * ((99+inc)/inc - 1) // a setWeight and a pause per weight below 100%
		}
	}
	if a.StartingStep != nil && (*a.StartingStep < 1 || *a.StartingStep > max(steps, 1)) {
		v.add(path+".startingStep", "%d is not one of the canary's steps (expected 1 to %d)", *a.StartingStep, max(steps, 1))
	}
}

// templateNames checks an analysis names at least one template, none empty.
func (v *validator) templateNames(path string, names []string, what string) {
	if len(names) == 0 {
		v.add(path, "%s names at least one AnalysisTemplate", what)
	}
	for i, t := range names {
		if t == "" {
			v.add(fmt.Sprintf("%s[%d]", path, i), "an empty template name")
		}
	}
}

func (v *validator) analysisStep(path string, a *AnalysisStep) {
	v.templateNames(path+".templates", a.Templates, "an analysis step")
	v.rangeInt(path+".measurements", a.Measurements, 1, 100)
	v.oneOf(path+".inconclusive", a.Inconclusive, InconclusiveFail, InconclusivePause)
}

func (v *validator) hooks(path string, hooks []Hook) {
	for i, h := range hooks {
		hp := fmt.Sprintf("%s[%d]", path, i)
		set := 0
		for _, ok := range []bool{h.Job != nil, h.Webhook != nil, h.Concord != nil} {
			if ok {
				set++
			}
		}
		if set != 1 {
			v.add(hp, "a hook has exactly one of job, webhook, concord (found %d)", set)
			continue
		}
		switch {
		case h.Job != nil:
			j := h.Job
			if j.Name == "" {
				v.add(hp+".job", "a job hook needs a name")
			}
			if j.Image == "" {
				v.add(hp+".job", "a job hook needs an image")
			}
			v.oneOf(hp+".job.action", j.Action, "create")
			v.rangeInt(hp+".job.timeoutSeconds", j.TimeoutSeconds, 1, 24*3600)
			v.rangeInt(hp+".job.pollPeriodSeconds", j.PollPeriodSeconds, 1, 3600)
			v.dnsLabel(hp+".job.namespace", j.Namespace)
		case h.Webhook != nil:
			if !strings.HasPrefix(h.Webhook.URL, "http://") && !strings.HasPrefix(h.Webhook.URL, "https://") {
				v.add(hp+".webhook.url", "%q is not an http(s) URL", h.Webhook.URL)
			}
			v.rangeInt(hp+".webhook.timeoutSeconds", h.Webhook.TimeoutSeconds, 1, 24*3600)
			if ref := h.Webhook.SecretRef; ref != nil {
				if ref.Name == "" {
					v.add(hp+".webhook.secretRef", "a secretRef needs the name of a Secret")
				} else if len(validation.IsDNS1123Subdomain(ref.Name)) > 0 {
					v.add(hp+".webhook.secretRef.name", "%q is not a Secret's name (expected lowercase letters, digits, '-' and '.')", ref.Name)
				}
				if ref.Key != "" && len(validation.IsConfigMapKey(ref.Key)) > 0 {
					v.add(hp+".webhook.secretRef.key", "%q is not a key of a Secret (expected letters, digits, '-', '_' and '.')", ref.Key)
				}
			}
		case h.Concord != nil:
			c := h.Concord
			if c.Org == "" || c.Project == "" {
				v.add(hp+".concord", "a concord hook needs org and project")
			}
		}
	}
}

// freezeWindows checks each window by the rules that will apply it, reporting each
// problem at the field it is about.
func (v *validator) freezeWindows(path string, ws []FreezeWindow) {
	for i, w := range ws {
		wp := fmt.Sprintf("%s[%d]", path, i)
		_, err := freeze.Parse(w.spec())
		var fes freeze.FieldErrors
		if !errors.As(err, &fes) {
			continue
		}
		for _, fe := range fes {
			p := wp
			if fe.Field != "" {
				p += "." + fe.Field
			}
			v.add(p, "%s", fe.Err.Error())
		}
	}
}

func (v *validator) values(path string, val Values) {
	for name, pr := range map[string]*Probe{"livenessProbe": val.LivenessProbe, "readinessProbe": val.ReadinessProbe} {
		if pr != nil {
			v.rangeInt(path+"."+name+".probeInterval", pr.ProbeInterval, 1, 3600)
			if pr.Path != "" && !strings.HasPrefix(pr.Path, "/") {
				v.add(path+"."+name+".path", "%q is not a path (expected it to start with /)", pr.Path)
			}
		}
	}
	v.rangeInt(path+".port", val.Port, 1, 65535)
	for i, t := range val.Tolerations {
		tp := fmt.Sprintf("%s.tolerations[%d]", path, i)
		v.oneOf(tp+".operator", t.Operator, "Equal", "Exists")
		v.oneOf(tp+".effect", t.Effect, "NoSchedule", "PreferNoSchedule", "NoExecute")
	}
	if val.Min != nil && val.Max != nil {
		v.lessOrEqual(path, "cpu", val.Min.CPU, val.Max.CPU)
		v.lessOrEqual(path, "memory", val.Min.Memory, val.Max.Memory)
	}
	if s := val.Scaling; s != nil {
		v.rangeInt(path+".scaling.cpuPercent", s.CPUPercent, 1, 100)
		v.rangeInt(path+".scaling.min", s.Min, 0, 10000)
		v.rangeInt(path+".scaling.max", s.Max, 1, 10000)
		if s.Min != nil && s.Max != nil && *s.Min > *s.Max {
			v.add(path+".scaling.min", "min %d is above max %d", *s.Min, *s.Max)
		}
		if s.CronScale != nil {
			for name, w := range map[string]*CronWindow{"scaleUp": s.CronScale.ScaleUp, "scaleDown": s.CronScale.ScaleDown} {
				if w == nil {
					continue
				}
				wp := path + ".scaling.cronscale." + name
				if w.Schedule == "" {
					v.add(wp+".schedule", "a scaling window needs a schedule")
				}
				if w.Min != nil && w.Max != nil && *w.Min > *w.Max {
					v.add(wp+".min", "min %d is above max %d", *w.Min, *w.Max)
				}
			}
		}
		for name, q := range s.PrometheusQueries {
			qp := joinPath(path+".scaling.prometheusQueries", name)
			if strings.TrimSpace(q.QueryContent) == "" {
				v.add(qp, "a scaling query needs queryContent")
			}
			if q.TargetAverageValue == "" {
				v.add(qp, "a scaling query needs targetAverageValue")
			} else if err := new(Quantity).setScalar(q.TargetAverageValue); err != nil {
				v.add(qp+".targetAverageValue", "%s", err.Error())
			}
		}
	}
	if g := val.Global; g != nil && g.Metrics != nil {
		for i, e := range g.Metrics.Endpoints {
			v.rangeInt(fmt.Sprintf("%s.global.metrics.endpoints[%d].targetPort", path, i), e.TargetPort, 1, 65535)
		}
		v.rangeInt(path+".global.metrics.remoteWriteSampleLimit", g.Metrics.RemoteWriteSampleLimit, 0, 1<<30)
	}
}

// lessOrEqual checks that the request (min) does not exceed the limit (max).
func (v *validator) lessOrEqual(path, resource string, lo, hi Quantity) {
	if lo == "" || hi == "" {
		return
	}
	l, h := lo.Value(), hi.Value()
	if l.Cmp(h) > 0 {
		v.add(path+".min."+resource, "min %s is above max %s", lo, hi)
	}
}
