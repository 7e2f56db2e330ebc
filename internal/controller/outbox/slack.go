package outbox

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"net/http"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
	"ferry.dev/ferry/internal/messages"
)

// Slack tells each delivery in one Slack thread through the Web API (chat.postMessage
// with a bot token): the thread starts with the delivery (the Release) and each stage's
// steps are replies. The token comes from a Secret at each use and never goes into a
// message, an error or the status.
type Slack struct {
	Channel string
	// TokenSecret is NAMESPACE/NAME/KEY of the Secret holding the bot token.
	TokenSecret string
	// APIURL is the Web API's base (https://slack.com/api).
	APIURL string
	// ApproveURL, when set, is where people approve: APP and STAGE are filled in.
	ApproveURL string
}

// slackKind is the kind of reply an event makes in its delivery's thread; "" for
// events the thread does not tell.
func slackKind(e ferryv1.OutboxEvent) string {
	switch e.Type {
	case "dev.ferry.deployment.started":
		return messages.Deploying
	case "dev.ferry.approval.requested":
		return messages.ApprovalNeeded
	case "dev.ferry.approval.granted":
		return messages.Approved
	case "dev.ferry.rollback.finished":
		return messages.RolledBack
	case "dev.ferry.promotion.finished":
		switch {
		case e.Reason == "PromotionSucceeded":
			return messages.Done
		case e.Reason == "Superseded":
			return messages.Superseded
		case e.Step == ferryv1.StepRollback:
			return "" // the rollback's end said it
		}
		return messages.Failed
	}
	return ""
}

// messageData is what the templates see of an event.
func messageData(p *ferryv1.Promotion, e ferryv1.OutboxEvent, approveURL string) messages.Data {
	version := p.Annotations[ferryv1.AnnotationVersion]
	if version == "" {
		version = p.Spec.Release // a Promotion that failed before it knew its Release
	}
	d := messages.Data{Application: p.Spec.Application, Stage: p.Spec.Stage, Version: version, Release: p.Spec.Release,
		Promotion: p.Name, Namespace: p.Namespace, Step: e.Step, Reason: e.Reason, Message: e.Message, Time: e.Time.Time}
	var by []string
	for _, a := range p.Status.Approvals {
		by = append(by, a.User+" ("+a.Group+")")
	}
	d.Approvers = strings.Join(by, ", ")
	if approveURL != "" {
		d.ApproveURL = strings.NewReplacer("APP", p.Spec.Application, "STAGE", p.Spec.Stage).Replace(approveURL)
	}
	return d
}

// slackText is the reply an event makes in its delivery's thread; "" for events the
// thread does not tell.
func (r *Reconciler) slackText(p *ferryv1.Promotion, e ferryv1.OutboxEvent, approveURL string) (string, error) {
	kind := slackKind(e)
	if kind == "" {
		return "", nil
	}
	return r.messages().Slack(kind, messageData(p, e, approveURL))
}

// sendSlack posts the event's reply, starting the delivery's thread first if it has
// none yet (its timestamp is kept on the Release, so later stages reply to it).
func (r *Reconciler) sendSlack(ctx context.Context, p *ferryv1.Promotion, s Sink, e ferryv1.OutboxEvent) error {
	text, err := r.slackText(p, e, s.Slack.ApproveURL)
	if err != nil || text == "" {
		return err
	}
	token, err := r.secretValue(ctx, s.Slack.TokenSecret)
	if err != nil {
		return fmt.Errorf("sink %s: %w", s.Name, err)
	}
	// The app file's channel (notify.slack.channelName) wins over the controller's.
	n, err := r.appNotify(ctx, p)
	if err != nil {
		return err
	}
	if n.Slack != nil && n.Slack.ChannelName != "" {
		slack := *s.Slack
		slack.Channel = n.Slack.ChannelName
		s.Slack = &slack
	}
	thread, err := r.slackThread(ctx, p, s, token)
	if err != nil {
		return err
	}
	_, err = r.postSlack(ctx, s, token, thread, text)
	return err
}

// slackThread is the delivery's thread in the sink's channel, started (and kept on the
// Release) when it has none yet. Finding or starting it is one step per delivery and
// sink at a time: two stages' events of one delivery told at once would otherwise
// each find no thread and each start one.
func (r *Reconciler) slackThread(ctx context.Context, p *ferryv1.Promotion, s Sink, token string) (string, error) {
	unlock := r.threadLocks.lock(p.Namespace + "/" + p.Spec.Release + "/" + s.Name)
	defer unlock()
	rel := &ferryv1.Release{}
	if err := r.Get(ctx, client.ObjectKey{Namespace: p.Namespace, Name: p.Spec.Release}, rel); err != nil {
		return "", fmt.Errorf("sink %s: the release %s: %w", s.Name, p.Spec.Release, err)
	}
	key := ferryv1.AnnotationSlackThread + s.Name
	if thread := rel.Annotations[key]; thread != "" {
		return thread, nil
	}
	// The cache may not have seen the thread an earlier stage's event started a moment
	// ago: the API server's copy decides, or the delivery would get a second root.
	if err := r.APIReader.Get(ctx, client.ObjectKey{Namespace: p.Namespace, Name: p.Spec.Release}, rel); err != nil {
		return "", fmt.Errorf("sink %s: the release %s: %w", s.Name, p.Spec.Release, err)
	}
	if thread := rel.Annotations[key]; thread != "" {
		return thread, nil
	}
	root, err := r.messages().Slack(messages.Delivery, deliveryData(rel))
	if err != nil {
		return "", err
	}
	thread, err := r.postSlack(ctx, s, token, "", root)
	if err != nil {
		return "", err
	}
	patch := client.MergeFrom(rel.DeepCopy())
	if rel.Annotations == nil {
		rel.Annotations = map[string]string{}
	}
	rel.Annotations[key] = thread
	if err := r.Patch(ctx, rel, patch); err != nil {
		return "", fmt.Errorf("sink %s: keeping the thread on release %s: %w", s.Name, rel.Name, err)
	}
	return thread, nil
}

// stripedLocks are a fixed number of mutexes a key is hashed to: keys that share one
// wait for each other now and then, and memory stays bounded however many keys come.
type stripedLocks [64]sync.Mutex

// lock locks key's mutex and returns its unlock.
func (l *stripedLocks) lock(key string) func() {
	h := fnv.New32a()
	_, _ = h.Write([]byte(key))
	mu := &l[h.Sum32()%uint32(len(l))]
	mu.Lock()
	return mu.Unlock
}

// deliveryData is what the template of a delivery's thread root sees.
func deliveryData(rel *ferryv1.Release) messages.Data {
	d := messages.Data{Application: rel.Spec.Application, Version: rel.Spec.Version, Release: rel.Name,
		Namespace: rel.Namespace, CreatedBy: rel.Annotations[ferryv1.AnnotationCreatedBy]}
	if g := rel.Spec.Git; g != nil {
		repo := g.RepoURL
		if repo == "" {
			repo = "commit"
		}
		d.Source = repo + "@" + g.Commit[:min(len(g.Commit), 12)]
	}
	return d
}

// postSlack calls chat.postMessage and returns the message's timestamp.
func (r *Reconciler) postSlack(ctx context.Context, s Sink, token, thread, text string) (string, error) {
	body := map[string]string{"channel": s.Slack.Channel, "text": text}
	if thread != "" {
		body["thread_ts"] = thread
	}
	b, err := json.Marshal(body)
	if err != nil {
		return "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(s.Slack.APIURL, "/")+"/chat.postMessage", bytes.NewReader(b))
	if err != nil {
		return "", fmt.Errorf("sink %s: %w", s.Name, err)
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := r.http.Do(req)
	if err != nil {
		return "", fmt.Errorf("sink %s not reached", s.Name)
	}
	defer resp.Body.Close()
	var answer struct {
		OK    bool   `json:"ok"`
		Error string `json:"error"`
		TS    string `json:"ts"`
	}
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&answer) != nil {
		return "", fmt.Errorf("sink %s answered %d", s.Name, resp.StatusCode)
	}
	if !answer.OK || answer.TS == "" {
		return "", fmt.Errorf("sink %s: Slack said %q", s.Name, answer.Error)
	}
	return answer.TS, nil
}

// secretValue reads NAMESPACE/NAME/KEY from the API (Secrets are never cached).
func (r *Reconciler) secretValue(ctx context.Context, ref string) (string, error) {
	parts := strings.Split(ref, "/")
	if len(parts) != 3 {
		return "", fmt.Errorf("the token Secret %q is not NAMESPACE/NAME/KEY", ref)
	}
	sec := &corev1.Secret{}
	if err := r.APIReader.Get(ctx, client.ObjectKey{Namespace: parts[0], Name: parts[1]}, sec); err != nil {
		return "", fmt.Errorf("the token Secret %s/%s: %w", parts[0], parts[1], err)
	}
	v, ok := sec.Data[parts[2]]
	if !ok || len(v) == 0 {
		return "", fmt.Errorf("the token Secret %s/%s has no key %s", parts[0], parts[1], parts[2])
	}
	return strings.TrimSpace(string(v)), nil
}
