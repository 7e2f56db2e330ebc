package changerecord

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
)

// ServiceNow keeps each ChangeRecord as a change_request through ServiceNow's Table
// API: created when the record opens (found again by its correlation_id, the record's
// uid, so a retry never makes a second one), closed when the record closes with close
// code successful, successful_issues or unsuccessful. The credentials (keys username
// and password) come from a Secret at each use and go nowhere else.
type ServiceNow struct {
	// URL is the instance (https://example.service-now.com).
	URL string
	// Secret is NAMESPACE/NAME.
	Secret string
}

// changeRequest is the part of a change_request Ferry writes and reads.
type changeRequest struct {
	SysID            string `json:"sys_id,omitempty"`
	Number           string `json:"number,omitempty"`
	ShortDescription string `json:"short_description,omitempty"`
	Description      string `json:"description,omitempty"`
	Type             string `json:"type,omitempty"`
	CorrelationID    string `json:"correlation_id,omitempty"`
	StartDate        string `json:"start_date,omitempty"`
	EndDate          string `json:"end_date,omitempty"`
	State            string `json:"state,omitempty"`
	CloseCode        string `json:"close_code,omitempty"`
	CloseNotes       string `json:"close_notes,omitempty"`
}

// snTime is how the Table API writes a date (UTC).
const snTime = "2006-01-02 15:04:05"

// closeCodes are ServiceNow's close codes of each result.
var closeCodes = map[ferryv1.ChangeResult]string{
	ferryv1.ChangeSucceeded:           "successful",
	ferryv1.ChangeSucceededWithIssues: "successful_issues",
	ferryv1.ChangeFailed:              "unsuccessful",
}

// snOpen finds or creates the record's change request.
func (r *Reconciler) snOpen(ctx context.Context, rec *ferryv1.ChangeRecord) (*ferryv1.ExternalChange, error) {
	var found struct {
		Result []changeRequest `json:"result"`
	}
	q := url.Values{"sysparm_query": {"correlation_id=" + string(rec.UID)}, "sysparm_limit": {"1"}, "sysparm_fields": {"sys_id,number"}}
	if err := r.snCall(ctx, http.MethodGet, "/api/now/table/change_request?"+q.Encode(), nil, &found); err != nil {
		return nil, err
	}
	if len(found.Result) > 0 {
		return &ferryv1.ExternalChange{SysID: found.Result[0].SysID, Number: found.Result[0].Number}, nil
	}
	s := rec.Spec
	var approvers []string
	for _, a := range s.Approvers {
		approvers = append(approvers, a.User+" ("+a.Group+")")
	}
	desc := fmt.Sprintf("Release %s (version %s) of %s to %s, Promotion %s/%s.\nCommit: %s %s\nApproved by: %s",
		s.Release, s.Version, s.Application, s.Stage, rec.Namespace, s.Promotion, s.RepoURL, s.Commit, strings.Join(approvers, ", "))
	req := changeRequest{ShortDescription: fmt.Sprintf("Deploy %s %s to %s", s.Application, s.Version, s.Stage), Description: desc,
		Type: "standard", CorrelationID: string(rec.UID), StartDate: s.OpenedAt.UTC().Format(snTime)}
	var created struct {
		Result changeRequest `json:"result"`
	}
	if err := r.snCall(ctx, http.MethodPost, "/api/now/table/change_request", req, &created); err != nil {
		return nil, err
	}
	if created.Result.SysID == "" {
		return nil, fmt.Errorf("ServiceNow created a change request without a sys_id")
	}
	return &ferryv1.ExternalChange{SysID: created.Result.SysID, Number: created.Result.Number}, nil
}

// snClose closes the change request with the record's result and log.
func (r *Reconciler) snClose(ctx context.Context, rec *ferryv1.ChangeRecord) error {
	notes := rec.Status.Message + "\n\n" + strings.Join(rec.Status.Log, "\n")
	req := changeRequest{State: "3", CloseCode: closeCodes[rec.Status.Result], CloseNotes: notes, EndDate: rec.Status.ClosedAt.UTC().Format(snTime)}
	return r.snCall(ctx, http.MethodPatch, "/api/now/table/change_request/"+url.PathEscape(rec.Status.ServiceNow.SysID), req, nil)
}

// snCall makes one Table API request with basic authentication.
func (r *Reconciler) snCall(ctx context.Context, method, path string, body, into any) error {
	user, pass, err := r.snCredentials(ctx)
	if err != nil {
		return err
	}
	var rd *bytes.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	} else {
		rd = bytes.NewReader(nil)
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimSuffix(r.ServiceNow.URL, "/")+path, rd)
	if err != nil {
		return err
	}
	req.SetBasicAuth(user, pass)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("ServiceNow not reached: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("ServiceNow answered %s to %s %s", resp.Status, method, strings.SplitN(path, "?", 2)[0])
	}
	if into == nil {
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(into); err != nil {
		return fmt.Errorf("ServiceNow's answer to %s: %w", method, err)
	}
	return nil
}

// snCredentials reads the username and password from the Secret.
func (r *Reconciler) snCredentials(ctx context.Context) (string, string, error) {
	ns, name, ok := strings.Cut(r.ServiceNow.Secret, "/")
	if !ok {
		return "", "", fmt.Errorf("the ServiceNow Secret %q is not NAMESPACE/NAME", r.ServiceNow.Secret)
	}
	sec := &corev1.Secret{}
	if err := r.APIReader.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, sec); err != nil {
		return "", "", fmt.Errorf("the ServiceNow Secret %s/%s: %w", ns, name, err)
	}
	user, pass := string(sec.Data["username"]), string(sec.Data["password"])
	if user == "" || pass == "" {
		return "", "", fmt.Errorf("the ServiceNow Secret %s/%s needs the keys username and password", ns, name)
	}
	return user, pass, nil
}
