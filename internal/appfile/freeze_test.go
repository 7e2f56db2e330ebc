package appfile

import (
	"strings"
	"testing"
	"time"

	"ferry.dev/ferry/internal/freeze"
)

func TestInvalidFreezeWindowsGiveExactMessages(t *testing.T) {
	tests := []struct {
		name string
		add  string // appended to valid: two spaces indent deploy's fields, six a stage's
		want []string
	}{
		{"bad cron", "  freezeWindows: [{cron: \"0 25 * * 5\", duration: 64h}]\n",
			[]string{`ferry.yml:9:26: deploy.freezeWindows[0].cron: "0 25 * * 5" is not a cron schedule: end of range (25) above maximum (23): 25 (expected five fields such as "0 18 * * 5")`}},
		{"duration of zero", "  freezeWindows:\n    - cron: \"0 18 * * 5\"\n      duration: 0s\n",
			[]string{`ferry.yml:11:17: deploy.freezeWindows[0].duration: "0s" is not a duration above zero (expected a value such as 64h or 30m)`}},
		{"duration missing", "  freezeWindows:\n    - name: weekend\n      cron: \"0 18 * * 5\"\n",
			[]string{`ferry.yml:10:7: deploy.freezeWindows[0].duration: a recurring window needs a duration (expected a value such as 64h or 30m)`}},
		{"end before start", "  freezeWindows: [{start: 2024-12-26, end: 2024-12-24}]\n",
			[]string{`ferry.yml:9:44: deploy.freezeWindows[0].end: "2024-12-24" is not after start "2024-12-26"`}},
		{"both kinds", "  freezeWindows: [{cron: \"0 18 * * 5\", duration: 64h, start: 2024-12-24, end: 2024-12-26}]\n",
			[]string{`ferry.yml:9:19: deploy.freezeWindows[0]: a freeze window has cron and duration, or start and end, not both`}},
		{"neither kind", "  freezeWindows: [{name: weekend}]\n",
			[]string{`ferry.yml:9:19: deploy.freezeWindows[0]: a freeze window needs cron and duration (recurring), or start and end (fixed)`}},
		{"unknown zone in a stage", "      freezeWindows: [{start: 2024-12-24, end: 2024-12-26, timeZone: Berlin}]\n",
			[]string{`ferry.yml:9:70: deploy.stages[0].freezeWindows[0].timeZone: "Berlin" is not a time zone (expected an IANA name such as Europe/Berlin or UTC)`}},
		{"misspelt key", "  freezeWindows: [{cron: \"0 18 * * 5\", duration: 64h, timezone: UTC}]\n",
			[]string{`ferry.yml:9:55: deploy.freezeWindows[0].timezone: unknown field "timezone" (did you mean "timeZone"?)`}},
		{"every problem at once", "      freezeWindows: [{start: tomorrow, end: 2024-12-26}]\n  freezeWindows: [{cron: \"0 25 * * 5\", duration: 3d}]\n",
			[]string{
				`ferry.yml:9:31: deploy.stages[0].freezeWindows[0].start: "tomorrow" is not a date (expected YYYY-MM-DD or RFC 3339 such as 2024-12-24T18:00:00+01:00)`,
				`ferry.yml:10:26: deploy.freezeWindows[0].cron: "0 25 * * 5" is not a cron schedule: end of range (25) above maximum (23): 25 (expected five fields such as "0 18 * * 5")`,
				`ferry.yml:10:50: deploy.freezeWindows[0].duration: "3d" is not a duration above zero (expected a value such as 64h or 30m)`,
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadBytes("ferry.yml", []byte(valid+tt.add), t.TempDir(), Options{})
			if err == nil {
				t.Fatal("no error")
			}
			if got, want := err.Error(), strings.Join(tt.want, "\n"); got != want {
				t.Errorf("got:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

// freezeFile freezes every stage over the weekend (Berlin time) and prod over Christmas.
const freezeFile = `owner: {group: team}
build: {buildType: go, artifact: web}
deploy:
  namespace: web
  freezeWindows:
    - name: weekend
      cron: "0 18 * * 5"
      duration: 64h
      timeZone: Europe/Berlin
  stages:
    - name: dev
      target: [{cluster_id: [c1]}]
    - name: prod
      target: [{cluster_id: [c2]}]
      freezeWindows:
        - {start: 2024-12-23, end: 2025-01-01}
`

func TestFreezeWindows(t *testing.T) {
	f, err := LoadBytes("ferry.yml", []byte(freezeFile), t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		stage     string
		at        time.Time
		wantName  string // empty: not frozen
		wantUntil time.Time
	}{
		{"dev", time.Date(2024, 12, 20, 17, 0, 0, 0, time.UTC), "weekend", time.Date(2024, 12, 23, 9, 0, 0, 0, time.UTC)},
		{"dev", time.Date(2024, 12, 24, 12, 0, 0, 0, time.UTC), "", time.Time{}},
		// The weekend runs into Christmas: prod stays frozen until the new year.
		{"prod", time.Date(2024, 12, 21, 12, 0, 0, 0, time.UTC), "weekend", time.Date(2025, 1, 2, 0, 0, 0, 0, time.UTC)},
		{"prod", time.Date(2024, 12, 24, 12, 0, 0, 0, time.UTC), "deploy.stages[1].freezeWindows[0]", time.Date(2025, 1, 2, 0, 0, 0, 0, time.UTC)},
		{"prod", time.Date(2025, 1, 2, 0, 0, 0, 0, time.UTC), "", time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.stage+" "+tt.at.Format(time.RFC3339), func(t *testing.T) {
			ws, err := f.App.FreezeWindows(tt.stage)
			if err != nil {
				t.Fatal(err)
			}
			w, until, ok := freeze.Active(ws, tt.at)
			if ok != (tt.wantName != "") || w.Name != tt.wantName || !until.Equal(tt.wantUntil) {
				t.Errorf("frozen by %q until %s (%v); want %q until %s", w.Name, until, ok, tt.wantName, tt.wantUntil)
			}
		})
	}
}

func TestFreezeWindowsOfAnUnknownStage(t *testing.T) {
	f, err := LoadBytes("ferry.yml", []byte(freezeFile), t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.App.FreezeWindows("qa")
	if err == nil || err.Error() != `no stage "qa" (stages: dev, prod)` {
		t.Errorf("err = %v, want no stage \"qa\"", err)
	}
}
