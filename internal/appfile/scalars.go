package appfile

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
	"k8s.io/apimachinery/pkg/api/resource"
)

// scalar is a field type that checks its own text; the error says what was expected.
type scalar interface {
	setScalar(text string) error
}

// Quantity is a Kubernetes quantity such as 500m or 256Mi.
type Quantity string

func (q *Quantity) setScalar(text string) error {
	if _, err := resource.ParseQuantity(text); err != nil {
		return fmt.Errorf("%q is not a Kubernetes quantity (expected a value such as 500m, 2 or 256Mi)", text)
	}
	*q = Quantity(text)
	return nil
}

// Value returns the parsed quantity; a set Quantity always parses.
func (q Quantity) Value() resource.Quantity {
	v, _ := resource.ParseQuantity(string(q))
	return v
}

// Schedule is a cron schedule (five fields, or a descriptor such as @daily).
type Schedule string

var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

func (s *Schedule) setScalar(text string) error {
	// The cron library panics on a bare "TZ=" prefix; a time zone has no place here anyway.
	if strings.HasPrefix(text, "TZ=") || strings.HasPrefix(text, "CRON_TZ=") {
		return fmt.Errorf("%q is not a cron schedule: a time zone prefix is not accepted (expected five fields such as \"0 8 * * 1-5\")", text)
	}
	if _, err := cronParser.Parse(text); err != nil {
		return fmt.Errorf("%q is not a cron schedule: %w (expected five fields such as \"0 8 * * 1-5\")", text, err)
	}
	*s = Schedule(text)
	return nil
}

// Duration is a duration written as Go does (90s, 5m) or as a number of seconds.
type Duration string

func (d *Duration) setScalar(text string) error {
	if _, err := ParseDuration(text); err != nil {
		return err
	}
	*d = Duration(text)
	return nil
}

// ParseDuration reads a Duration's text.
func ParseDuration(text string) (time.Duration, error) {
	if n, err := strconv.Atoi(text); err == nil && n >= 0 {
		return time.Duration(n) * time.Second, nil
	}
	v, err := time.ParseDuration(text)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("%q is not a duration (expected seconds or a value such as 30s, 5m)", text)
	}
	return v, nil
}

// Percent is a percentage, written 20% or 20.
type Percent string

func (p *Percent) setScalar(text string) error {
	n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(text), "%"))
	if err != nil || n < 0 || n > 100 {
		return fmt.Errorf("%q is not a percentage (expected 0%% to 100%%)", text)
	}
	*p = Percent(text)
	return nil
}

// parseBool accepts the forms teams write: true/false, also quoted, and yes/no/on/off.
func parseBool(text string) (bool, bool) {
	switch strings.ToLower(strings.TrimSpace(text)) {
	case "true", "yes", "on":
		return true, true
	case "false", "no", "off":
		return false, true
	}
	return false, false
}

// Percent returns the percentage as a number (0 when empty).
func (p Percent) Percent() int {
	n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(string(p)), "%"))
	return n
}
