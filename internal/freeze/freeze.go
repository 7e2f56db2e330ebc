// Package freeze decides whether a deployment falls inside a freeze window, a time
// during which a stage's deployments wait: a recurring window (a cron schedule of its
// starts and how long each lasts, such as every Friday 18:00 for 64 hours) or a fixed
// range of dates. It also reads windows as the app file writes them, so that a file is
// checked by the same rules that later apply them.
package freeze

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// Window is a time during which deployments wait.
type Window struct {
	// Name says which window holds a deployment back, in messages.
	Name string
	// Cron is a five-field schedule (minute hour day-of-month month day-of-week) or a
	// descriptor such as @weekly, giving the start of each window; Duration is how long
	// each one lasts, in elapsed time (a window across a DST change ends an hour earlier
	// or later on the wall clock). When Cron is set, Start and End are ignored.
	Cron     string
	Duration time.Duration
	// Start and End bound a fixed window, [Start, End).
	Start, End time.Time
	// TimeZone is where Cron is read (nil: UTC).
	TimeZone *time.Location
}

// maxChain bounds how many windows Active follows when they chain one into the next: a
// schedule that never lets go (every minute, for two minutes) must not hold the caller.
const maxChain = 1000

// Active reports whether t falls inside one of ws, the first such window in ws, and when
// the frozen stretch ends: when windows overlap or follow each other without a gap, until
// is the end of the last of them, not of the first. If the stretch chains more than
// maxChain windows, until is where following them stopped; asking again then gives the
// rest. A window that Parse would reject is ignored. until is in t's location.
func Active(ws []Window, t time.Time) (w Window, until time.Time, ok bool) {
	cs := compile(ws)
	for _, c := range cs {
		if _, in := c.endAt(t); in {
			return c.Window, extend(cs, t).In(t.Location()), true
		}
	}
	return Window{}, time.Time{}, false
}

// extend returns the end of the frozen stretch that covers u: it moves u to the latest
// end of the windows that cover it until none does.
func extend(cs []compiled, u time.Time) time.Time {
	for range maxChain {
		next := u
		for _, c := range cs {
			if end, in := c.endAt(u); in && end.After(next) {
				next = end
			}
		}
		if next.Equal(u) {
			return u
		}
		u = next
	}
	return u
}

// compiled is a Window with its schedule parsed once, for the many questions Active asks.
type compiled struct {
	Window
	sched cron.Schedule // nil for a fixed window
	valid bool
}

func compile(ws []Window) []compiled {
	out := make([]compiled, 0, len(ws))
	for _, w := range ws {
		c := compiled{Window: w}
		if w.Cron == "" {
			c.valid = w.End.After(w.Start)
		} else {
			s, err := schedule(w.Cron)
			c.sched, c.valid = s, err == nil && w.Duration > 0
		}
		if c.valid {
			out = append(out, c)
		}
	}
	return out
}

// endAt returns the end of the window's occurrence that covers t, if one does.
func (c compiled) endAt(t time.Time) (time.Time, bool) {
	if c.sched == nil {
		return c.End, !t.Before(c.Start) && t.Before(c.End)
	}
	// The occurrence covering t, if any, starts in (t-Duration, t]; Next gives the first
	// start strictly after its argument, read in the window's zone.
	start := c.sched.Next(t.Add(-c.Duration).In(location(c.TimeZone)))
	if start.IsZero() || start.After(t) {
		return time.Time{}, false
	}
	return start.Add(c.Duration), true
}

func location(l *time.Location) *time.Location {
	if l == nil {
		return time.UTC
	}
	return l
}

var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// schedule parses a window's cron expression. It refuses what would not mean a
// calendar time: @every counts from whenever it is asked, and a TZ= prefix would
// contradict the window's time zone (and panics the parser when nothing follows it).
func schedule(expr string) (cron.Schedule, error) {
	expr = strings.TrimSpace(expr)
	if strings.HasPrefix(expr, "TZ=") || strings.HasPrefix(expr, "CRON_TZ=") {
		return nil, errors.New("a time zone prefix is not allowed (expected the zone in timeZone)")
	}
	if strings.HasPrefix(expr, "@every") {
		return nil, errors.New("@every counts from whenever it is asked (expected five fields or a descriptor such as @weekly)")
	}
	s, err := cronParser.Parse(expr)
	if err != nil {
		return nil, fmt.Errorf(`%w (expected five fields such as "0 18 * * 5")`, err)
	}
	return s, nil
}

// Spec is a window as the app file writes it: every value as text, checked by Parse.
type Spec struct {
	Name string
	// Cron and Duration (a Go duration such as 64h or 30m) make a recurring window.
	Cron     string
	Duration string
	// Start and End (RFC 3339, or YYYY-MM-DD for a whole day) make a fixed window.
	Start string
	End   string
	// TimeZone is an IANA zone name such as Europe/Berlin (default UTC).
	TimeZone string
}

// FieldError is what is wrong with one field of a Spec. Field is the app file's key
// (cron, duration, start, end, timeZone), or empty for the window as a whole.
type FieldError struct {
	Field string
	Err   error
}

func (e FieldError) Error() string {
	if e.Field == "" {
		return e.Err.Error()
	}
	return e.Field + ": " + e.Err.Error()
}

func (e FieldError) Unwrap() error { return e.Err }

// FieldErrors is every problem Parse found in a Spec, so that a file's author sees them
// all at once.
type FieldErrors []FieldError

func (l FieldErrors) Error() string {
	msgs := make([]string, len(l))
	for i, e := range l {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "; ")
}

func (l *FieldErrors) add(field string, err error) {
	*l = append(*l, FieldError{Field: field, Err: err})
}

// Parse checks a Spec and returns its Window. A window is recurring (cron and
// duration) or fixed (start and end), never both. A date without a time means the whole
// day in the window's zone: start at its first moment, end after its last, so that
// start: 2024-12-24 and end: 2024-12-24 freeze Christmas Eve. The error, if any, is a
// FieldErrors.
func Parse(s Spec) (Window, error) {
	var errs FieldErrors
	w := Window{Name: s.Name, TimeZone: parseZone(s.TimeZone, &errs)}
	recurring := s.Cron != "" || s.Duration != ""
	fixed := s.Start != "" || s.End != ""
	switch {
	case recurring && fixed:
		errs.add("", errors.New("a freeze window has cron and duration, or start and end, not both"))
	case !recurring && !fixed:
		errs.add("", errors.New("a freeze window needs cron and duration (recurring), or start and end (fixed)"))
	case recurring:
		w.Cron, w.Duration = parseRecurring(s, &errs)
	default:
		w.Start, w.End = parseFixed(s, location(w.TimeZone), &errs)
	}
	if len(errs) > 0 {
		return Window{}, errs
	}
	return w, nil
}

// parseZone returns nil for UTC. Local is refused: it would depend on the machine that
// happens to run the controller.
func parseZone(name string, errs *FieldErrors) *time.Location {
	if name == "" {
		return nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil || name == "Local" {
		errs.add("timeZone", fmt.Errorf("%q is not a time zone (expected an IANA name such as Europe/Berlin or UTC)", name))
		return nil
	}
	return loc
}

// horizonStart is where Parse looks for a schedule's first start: a schedule with none
// in the five years the parser searches (February 30th) would never freeze anything.
var horizonStart = time.Date(2000, time.January, 1, 0, 0, 0, 0, time.UTC)

func parseRecurring(s Spec, errs *FieldErrors) (string, time.Duration) {
	if s.Cron == "" {
		errs.add("cron", errors.New(`a window with a duration needs a cron schedule of its starts (expected five fields such as "0 18 * * 5")`))
	} else if sched, err := schedule(s.Cron); err != nil {
		errs.add("cron", fmt.Errorf("%q is not a cron schedule: %w", s.Cron, err))
	} else if sched.Next(horizonStart).IsZero() {
		errs.add("cron", fmt.Errorf("%q never starts (no such date)", s.Cron))
	}
	if s.Duration == "" {
		errs.add("duration", errors.New("a recurring window needs a duration (expected a value such as 64h or 30m)"))
		return s.Cron, 0
	}
	d, err := time.ParseDuration(s.Duration)
	if err != nil || d <= 0 {
		errs.add("duration", fmt.Errorf("%q is not a duration above zero (expected a value such as 64h or 30m)", s.Duration))
	}
	return s.Cron, d
}

func parseFixed(s Spec, loc *time.Location, errs *FieldErrors) (time.Time, time.Time) {
	start, startOK := parseBound("start", s.Start, loc, false, errs)
	end, endOK := parseBound("end", s.End, loc, true, errs)
	if startOK && endOK && !end.After(start) {
		errs.add("end", fmt.Errorf("%q is not after start %q", s.End, s.Start))
	}
	return start, end
}

// parseBound reads start or end; a date alone is the start of that day, or for an end
// the start of the next day.
func parseBound(field, text string, loc *time.Location, end bool, errs *FieldErrors) (time.Time, bool) {
	if text == "" {
		errs.add(field, errors.New("a fixed window needs both start and end (expected a date such as 2024-12-24 or 2024-12-24T18:00:00+01:00)"))
		return time.Time{}, false
	}
	if t, err := time.Parse(time.RFC3339, text); err == nil {
		return t, true
	}
	day, err := time.ParseInLocation(time.DateOnly, text, loc)
	if err != nil {
		errs.add(field, fmt.Errorf("%q is not a date (expected YYYY-MM-DD or RFC 3339 such as 2024-12-24T18:00:00+01:00)", text))
		return time.Time{}, false
	}
	if end {
		day = day.AddDate(0, 0, 1)
	}
	return day, true
}
