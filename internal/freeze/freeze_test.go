package freeze

import (
	"testing"
	"time"
)

func utc(year int, month time.Month, day, hour, min, sec int) time.Time {
	return time.Date(year, month, day, hour, min, sec, 0, time.UTC)
}

func zone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func TestActive(t *testing.T) {
	berlin := zone(t, "Europe/Berlin")
	// 2024-01-05, 2024-07-05 and 2024-10-25 are Fridays; Europe/Berlin leaves summer
	// time on Sunday 2024-10-27.
	weekend := Window{Name: "weekend", Cron: "0 18 * * 5", Duration: 64 * time.Hour}
	berlinWeekend := Window{Name: "weekend", Cron: "0 18 * * 5", Duration: 64 * time.Hour, TimeZone: berlin}
	christmas := Window{Name: "christmas", Start: utc(2024, 12, 23, 0, 0, 0), End: utc(2025, 1, 2, 0, 0, 0)}
	fixed := func(name string, start, end time.Time) Window { return Window{Name: name, Start: start, End: end} }

	tests := []struct {
		name      string
		windows   []Window
		at        time.Time
		wantName  string // empty: not frozen
		wantUntil time.Time
	}{
		{"a minute before the weekend", []Window{weekend}, utc(2024, 1, 5, 17, 59, 59), "", time.Time{}},
		{"the weekend's first second", []Window{weekend}, utc(2024, 1, 5, 18, 0, 0), "weekend", utc(2024, 1, 8, 10, 0, 0)},
		{"sunday noon", []Window{weekend}, utc(2024, 1, 7, 12, 0, 0), "weekend", utc(2024, 1, 8, 10, 0, 0)},
		{"monday's last frozen second", []Window{weekend}, utc(2024, 1, 8, 9, 59, 59), "weekend", utc(2024, 1, 8, 10, 0, 0)},
		{"the weekend's end is open", []Window{weekend}, utc(2024, 1, 8, 10, 0, 0), "", time.Time{}},
		{"wednesday", []Window{weekend}, utc(2024, 1, 10, 12, 0, 0), "", time.Time{}},
		{"descriptor", []Window{{Name: "sunday", Cron: "@weekly", Duration: 24 * time.Hour}}, utc(2024, 1, 7, 12, 0, 0), "sunday", utc(2024, 1, 8, 0, 0, 0)},

		{"date range start is inside", []Window{christmas}, utc(2024, 12, 23, 0, 0, 0), "christmas", utc(2025, 1, 2, 0, 0, 0)},
		{"date range end is outside", []Window{christmas}, utc(2025, 1, 2, 0, 0, 0), "", time.Time{}},
		{"before the date range", []Window{christmas}, utc(2024, 12, 22, 23, 59, 59), "", time.Time{}},

		{"back-to-back windows chain", []Window{weekend, fixed("monday", utc(2024, 1, 8, 10, 0, 0), utc(2024, 1, 8, 14, 0, 0))},
			utc(2024, 1, 6, 0, 0, 0), "weekend", utc(2024, 1, 8, 14, 0, 0)},
		{"an overlapping window extends", []Window{weekend, fixed("release", utc(2024, 1, 7, 0, 0, 0), utc(2024, 1, 9, 0, 0, 0))},
			utc(2024, 1, 6, 0, 0, 0), "weekend", utc(2024, 1, 9, 0, 0, 0)},
		{"a window inside does not shorten", []Window{weekend, fixed("sunday", utc(2024, 1, 7, 0, 0, 0), utc(2024, 1, 7, 6, 0, 0))},
			utc(2024, 1, 7, 1, 0, 0), "weekend", utc(2024, 1, 8, 10, 0, 0)},
		{"a gap breaks the chain", []Window{weekend, fixed("later", utc(2024, 1, 8, 10, 1, 0), utc(2024, 1, 9, 0, 0, 0))},
			utc(2024, 1, 6, 0, 0, 0), "weekend", utc(2024, 1, 8, 10, 0, 0)},
		{"a fixed window running into the weekend", []Window{weekend, fixed("friday", utc(2024, 1, 5, 12, 0, 0), utc(2024, 1, 6, 12, 0, 0))},
			utc(2024, 1, 5, 13, 0, 0), "friday", utc(2024, 1, 8, 10, 0, 0)},
		{"the first window in order is named", []Window{fixed("a", utc(2024, 1, 6, 0, 0, 0), utc(2024, 1, 6, 1, 0, 0)), weekend},
			utc(2024, 1, 6, 0, 30, 0), "a", utc(2024, 1, 8, 10, 0, 0)},
		// Hourly starts lasting two hours never let go: each chained window adds an hour.
		{"a freeze that never ends stops at maxChain", []Window{{Name: "hourly", Cron: "0 * * * *", Duration: 2 * time.Hour}},
			utc(2024, 1, 1, 0, 30, 0), "hourly", utc(2024, 1, 1, 0, 0, 0).Add(maxChain * time.Hour)},

		{"berlin winter, before", []Window{berlinWeekend}, utc(2024, 1, 5, 16, 59, 0), "", time.Time{}},
		{"berlin winter, 18:00 CET", []Window{berlinWeekend}, utc(2024, 1, 5, 17, 0, 0), "weekend", utc(2024, 1, 8, 9, 0, 0)},
		{"berlin summer, 18:00 CEST", []Window{berlinWeekend}, utc(2024, 7, 5, 16, 0, 0), "weekend", utc(2024, 7, 8, 8, 0, 0)},
		{"berlin, 64h across the DST change end at 09:00 CET", []Window{berlinWeekend}, utc(2024, 10, 25, 16, 0, 0), "weekend", utc(2024, 10, 28, 8, 0, 0)},

		{"an invalid cron is ignored", []Window{{Name: "bad", Cron: "0 25 * * *", Duration: time.Hour}}, utc(2024, 1, 1, 0, 30, 0), "", time.Time{}},
		{"a zero duration is ignored", []Window{{Name: "empty", Cron: "* * * * *"}}, utc(2024, 1, 1, 0, 30, 0), "", time.Time{}},
		{"an empty range is ignored", []Window{fixed("empty", utc(2024, 1, 2, 0, 0, 0), utc(2024, 1, 1, 0, 0, 0))}, utc(2024, 1, 1, 12, 0, 0), "", time.Time{}},
		{"no windows", nil, utc(2024, 1, 1, 0, 0, 0), "", time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, until, ok := Active(tt.windows, tt.at)
			if ok != (tt.wantName != "") || w.Name != tt.wantName || !until.Equal(tt.wantUntil) {
				t.Errorf("Active(%s) = %q, %s, %v; want %q, %s", tt.at, w.Name, until, ok, tt.wantName, tt.wantUntil)
			}
		})
	}
}

func TestActiveAnswersInTheCallersZone(t *testing.T) {
	berlin := zone(t, "Europe/Berlin")
	ws := []Window{{Name: "weekend", Cron: "0 18 * * 5", Duration: 64 * time.Hour}}
	_, until, ok := Active(ws, time.Date(2024, 1, 6, 12, 0, 0, 0, berlin))
	if !ok || until.Location() != berlin || until.Hour() != 11 {
		t.Errorf("until = %s, ok %v; want Monday 11:00 in Europe/Berlin", until, ok)
	}
}

func TestParse(t *testing.T) {
	berlin := zone(t, "Europe/Berlin")
	tests := []struct {
		name string
		spec Spec
		want Window
	}{
		{"recurring", Spec{Name: "weekend", Cron: "0 18 * * 5", Duration: "64h"},
			Window{Name: "weekend", Cron: "0 18 * * 5", Duration: 64 * time.Hour}},
		{"recurring in a zone", Spec{Cron: "@weekly", Duration: "30m", TimeZone: "Europe/Berlin"},
			Window{Cron: "@weekly", Duration: 30 * time.Minute, TimeZone: berlin}},
		{"dates are whole days", Spec{Start: "2024-12-24", End: "2024-12-26"},
			Window{Start: utc(2024, 12, 24, 0, 0, 0), End: utc(2024, 12, 27, 0, 0, 0)}},
		{"one day", Spec{Start: "2024-12-24", End: "2024-12-24"},
			Window{Start: utc(2024, 12, 24, 0, 0, 0), End: utc(2024, 12, 25, 0, 0, 0)}},
		{"dates in a zone", Spec{Start: "2024-12-24", End: "2024-12-24", TimeZone: "Europe/Berlin"},
			Window{Start: utc(2024, 12, 23, 23, 0, 0), End: utc(2024, 12, 24, 23, 0, 0), TimeZone: berlin}},
		{"RFC 3339 keeps its offset", Spec{Start: "2024-12-24T18:00:00+01:00", End: "2024-12-27T08:00:00Z", TimeZone: "America/New_York"},
			Window{Start: utc(2024, 12, 24, 17, 0, 0), End: utc(2024, 12, 27, 8, 0, 0), TimeZone: zone(t, "America/New_York")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.spec)
			if err != nil {
				t.Fatal(err)
			}
			if got.Name != tt.want.Name || got.Cron != tt.want.Cron || got.Duration != tt.want.Duration ||
				!got.Start.Equal(tt.want.Start) || !got.End.Equal(tt.want.End) || got.TimeZone.String() != tt.want.TimeZone.String() {
				t.Errorf("Parse() = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		spec Spec
		want string
	}{
		{"bad cron", Spec{Cron: "0 25 * * *", Duration: "1h"},
			`cron: "0 25 * * *" is not a cron schedule: end of range (25) above maximum (23): 25 (expected five fields such as "0 18 * * 5")`},
		{"six fields", Spec{Cron: "0 0 18 * * 5", Duration: "1h"},
			`cron: "0 0 18 * * 5" is not a cron schedule: expected exactly 5 fields, found 6: [0 0 18 * * 5] (expected five fields such as "0 18 * * 5")`},
		{"@every", Spec{Cron: "@every 1h", Duration: "1h"},
			`cron: "@every 1h" is not a cron schedule: @every counts from whenever it is asked (expected five fields or a descriptor such as @weekly)`},
		{"zone prefix with nothing after it", Spec{Cron: "TZ=Europe/Berlin", Duration: "1h"},
			`cron: "TZ=Europe/Berlin" is not a cron schedule: a time zone prefix is not allowed (expected the zone in timeZone)`},
		{"a date that never comes", Spec{Cron: "0 0 30 2 *", Duration: "1h"},
			`cron: "0 0 30 2 *" never starts (no such date)`},
		{"no duration", Spec{Cron: "0 18 * * 5"},
			`duration: a recurring window needs a duration (expected a value such as 64h or 30m)`},
		{"zero duration", Spec{Cron: "0 18 * * 5", Duration: "0s"},
			`duration: "0s" is not a duration above zero (expected a value such as 64h or 30m)`},
		{"negative duration", Spec{Cron: "0 18 * * 5", Duration: "-1h"},
			`duration: "-1h" is not a duration above zero (expected a value such as 64h or 30m)`},
		{"duration in days", Spec{Cron: "0 18 * * 5", Duration: "3d"},
			`duration: "3d" is not a duration above zero (expected a value such as 64h or 30m)`},
		{"duration without cron", Spec{Duration: "1h"},
			`cron: a window with a duration needs a cron schedule of its starts (expected five fields such as "0 18 * * 5")`},
		{"end before start", Spec{Start: "2024-12-26", End: "2024-12-24"},
			`end: "2024-12-24" is not after start "2024-12-26"`},
		{"empty range", Spec{Start: "2024-12-24T18:00:00Z", End: "2024-12-24T19:00:00+01:00"},
			`end: "2024-12-24T19:00:00+01:00" is not after start "2024-12-24T18:00:00Z"`},
		{"not a date", Spec{Start: "24.12.2024", End: "2024-12-26"},
			`start: "24.12.2024" is not a date (expected YYYY-MM-DD or RFC 3339 such as 2024-12-24T18:00:00+01:00)`},
		{"no end", Spec{Start: "2024-12-24"},
			`end: a fixed window needs both start and end (expected a date such as 2024-12-24 or 2024-12-24T18:00:00+01:00)`},
		{"unknown zone", Spec{Cron: "0 18 * * 5", Duration: "64h", TimeZone: "Mars/Olympus"},
			`timeZone: "Mars/Olympus" is not a time zone (expected an IANA name such as Europe/Berlin or UTC)`},
		{"the machine's zone", Spec{Cron: "0 18 * * 5", Duration: "64h", TimeZone: "Local"},
			`timeZone: "Local" is not a time zone (expected an IANA name such as Europe/Berlin or UTC)`},
		{"both kinds", Spec{Cron: "0 18 * * 5", Duration: "64h", Start: "2024-12-24", End: "2024-12-26"},
			`a freeze window has cron and duration, or start and end, not both`},
		{"neither kind", Spec{Name: "empty"},
			`a freeze window needs cron and duration (recurring), or start and end (fixed)`},
		{"every problem at once", Spec{Cron: "0 25 * * *", Duration: "0", TimeZone: "Berlin"},
			`timeZone: "Berlin" is not a time zone (expected an IANA name such as Europe/Berlin or UTC); ` +
				`cron: "0 25 * * *" is not a cron schedule: end of range (25) above maximum (23): 25 (expected five fields such as "0 18 * * 5"); ` +
				`duration: "0" is not a duration above zero (expected a value such as 64h or 30m)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(tt.spec)
			if err == nil {
				t.Fatal("no error")
			}
			if err.Error() != tt.want {
				t.Errorf("got:\n%s\nwant:\n%s", err, tt.want)
			}
		})
	}
}
