package outbox

import (
	"context"
	"fmt"
	"net"
	"net/smtp"
	"strings"
	"time"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
	"ferry.dev/ferry/internal/messages"
)

// Email sends a message through an SMTP server for the events people act on: an
// approval needed, a stage done or failed, a rollback. Credentials, when the server
// wants them, come from a Secret (keys username and password) at each use.
type Email struct {
	// Server is host:port.
	Server string
	From   string
	To     []string
	// Secret is NAMESPACE/NAME of the credentials; empty sends without authenticating.
	Secret string
}

// emailKind is the kind of mail an event makes; "" for events not mailed.
func emailKind(e ferryv1.OutboxEvent) string {
	switch e.Type {
	case "dev.ferry.approval.requested":
		return messages.ApprovalNeeded
	case "dev.ferry.rollback.finished":
		return messages.RolledBack
	case "dev.ferry.promotion.finished":
		switch {
		case e.Reason == "PromotionSucceeded":
			return messages.Done
		case e.Step == ferryv1.StepRollback || e.Reason == "Superseded":
			return "" // the rollback's mail said it; a superseded one did nothing
		}
		return messages.Failed
	}
	return ""
}

// sendEmail mails the event when it is one people act on.
func (r *Reconciler) sendEmail(ctx context.Context, p *ferryv1.Promotion, s Sink, e ferryv1.OutboxEvent) error {
	kind := emailKind(e)
	if kind == "" {
		return nil
	}
	d := messageData(p, e, "")
	subject, err := r.messages().MailSubject(kind, d)
	if err != nil || subject == "" {
		return err
	}
	body, err := r.messages().MailBody(d)
	if err != nil {
		return err
	}
	m := *s.Email
	// The app file's recipients (notify.email) take the place of the controller's.
	n, err := r.appNotify(ctx, p)
	if err != nil {
		return err
	}
	if len(n.Email) > 0 {
		m.To = n.Email
	}
	var auth smtp.Auth
	if m.Secret != "" {
		user, err := r.secretValue(ctx, m.Secret+"/username")
		if err != nil {
			return fmt.Errorf("sink %s: %w", s.Name, err)
		}
		pass, err := r.secretValue(ctx, m.Secret+"/password")
		if err != nil {
			return fmt.Errorf("sink %s: %w", s.Name, err)
		}
		host, _, _ := net.SplitHostPort(m.Server)
		auth = smtp.PlainAuth("", user, pass, host)
	}
	msg := strings.Join([]string{
		"From: " + m.From,
		"To: " + strings.Join(m.To, ", "),
		"Subject: [ferry] " + subject,
		"Date: " + e.Time.UTC().Format(time.RFC1123Z),
		fmt.Sprintf("Message-ID: <%s-%d@ferry.dev>", p.UID, e.Seq), // the same on every try
		"MIME-Version: 1.0",
		"Content-Type: text/plain; charset=utf-8",
		"", body,
	}, "\r\n")
	if err := smtp.SendMail(m.Server, auth, m.From, m.To, []byte(msg)); err != nil {
		return fmt.Errorf("sink %s: %s: %w", s.Name, m.Server, err)
	}
	return nil
}
