//go:build integration

package dashboard_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// chromiumPath is Debian's chromium, which `ferry dev packages` installs with the
// cluster's other packages.
const chromiumPath = "/usr/bin/chromium"

// browser is a headless Chromium with one tab, for one test.
type browser struct {
	t    testing.TB
	ctx  context.Context
	base string // the dashboard's URL
}

// catchErrors collects the page's uncaught errors and what its Content-Security-Policy
// blocked, which the tests then fail on.
const catchErrors = `window.__ferryErrors = [];
addEventListener("error", (e) => window.__ferryErrors.push(String(e.message)));
document.addEventListener("securitypolicyviolation", (e) => window.__ferryErrors.push("blocked by " + e.violatedDirective + ": " + (e.blockedURI || e.sample)));
addEventListener("unhandledrejection", (e) => window.__ferryErrors.push(String(e.reason && e.reason.stack || e.reason)));`

// newBrowser starts Chromium with a fresh profile, headless and off every network but
// loopback (no first-run, sync, component updates or QUIC), stopped when the test ends.
func newBrowser(t testing.TB, base string) *browser {
	t.Helper()
	if _, err := exec.LookPath(chromiumPath); err != nil {
		t.Fatalf("%s is missing (%v): `ferry dev packages` installs it", chromiumPath, err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.NoSandbox, // the tests run as root
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.WindowSize(1280, 900),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx, chromedp.WithErrorf(func(f string, a ...any) { t.Logf("chromedp: "+f, a...) }))
	t.Cleanup(func() { cancel(); cancelAlloc() })
	_, err := chromedp.Run(ctx, func(ctx context.Context, tg *chromedp.Target) (page.ScriptIdentifier, error) {
		res, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: catchErrors})
		if err != nil {
			return "", err
		}
		return res.Identifier, nil
	})
	if err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	// The screenshots of this test's earlier runs go, so that none is taken for this one's.
	old, _ := filepath.Glob(filepath.Join(artifactsDir(t), unsafeName.ReplaceAllString(t.Name(), "_")+"-*.png"))
	for _, f := range old {
		_ = os.Remove(f)
	}
	return &browser{t: t, ctx: ctx, base: base}
}

// do runs the steps, failing the test after 30 s.
func (b *browser) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.fail("%s: %v", what, err)
	}
}

// eval runs JavaScript in the page and returns its value.
func eval[T any](b *browser, js string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
	if err != nil {
		b.fail("evaluating %s: %v", js, err)
	}
	return v
}

// waitFor waits until the JavaScript expression is true, at most timeout. A poll begun
// while a navigation replaced the page's context is begun again.
func (b *browser) waitFor(what, js string, timeout time.Duration) {
	b.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ctx, cancel := context.WithTimeout(b.ctx, time.Until(deadline)+5*time.Second)
		_, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](js, chromedp.WithPollingTimeout(time.Until(deadline)), chromedp.WithPollingInterval(50*time.Millisecond)))
		cancel()
		if err == nil {
			return
		}
		if !strings.Contains(err.Error(), "Cannot find context with specified id") || time.Now().After(deadline) {
			b.fail("waiting for %s (%s): %v", what, js, err)
		}
	}
}

// text is the text of the first element the selector finds ("" when none).
func (b *browser) text(sel string) string {
	b.t.Helper()
	return eval[string](b, fmt.Sprintf(`(document.querySelector(%q) || {}).innerText || ""`, sel))
}

// fail saves a screenshot of what the page showed, then fails the test.
func (b *browser) fail(format string, args ...any) {
	b.t.Helper()
	b.screenshot("failed")
	b.t.Fatalf(format, args...)
}

// open loads a dashboard route (the part after #).
func (b *browser) open(route string) {
	b.t.Helper()
	b.do("opening "+route, chromedp.Navigate(b.base+"/#"+route))
}

// signIn pastes the token into the sign-in form the dashboard shows without one, and
// lands on route.
func (b *browser) signIn(token, route string) {
	b.t.Helper()
	b.open(route)
	b.do("signing in",
		chromedp.WaitVisible(chromedp.CSS("#token")),
		chromedp.SetValue(chromedp.CSS("#token"), token),
		chromedp.Click(chromedp.CSS(".sign-in button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("#sign-out")),
	)
}

// noErrors fails the test on the page's uncaught errors, and on a missing value shown
// as text (null, undefined, NaN).
func (b *browser) noErrors() {
	b.t.Helper()
	if errs := eval[[]string](b, `window.__ferryErrors || []`); len(errs) > 0 {
		b.fail("the page threw: %q", errs)
	}
	if bad := eval[string](b, `(document.body.innerText.match(/.*\b(null|undefined|NaN)\b.*/) || [""])[0]`); bad != "" {
		b.fail("the page shows a missing value: %q", bad)
	}
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// screenshot saves the whole page as a PNG under the artifacts directory and checks it
// is an image with something in it.
func (b *browser) screenshot(name string) string {
	b.t.Helper()
	return b.save(name, chromedp.FullScreenshot(100))
}

// darkScreenshot saves the whole page as it looks in a browser set to a dark scheme.
func (b *browser) darkScreenshot(name string) {
	b.t.Helper()
	scheme := func(value string) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			_, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
				Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: value}}})
			return err
		})
	}
	b.do("a dark scheme", scheme("dark"))
	b.screenshot(name)
	b.do("the light scheme again", scheme(""))
}

// screenshotView saves what the window shows, as scrolled.
func (b *browser) screenshotView(name string) string {
	b.t.Helper()
	return b.save(name, chromedp.CaptureScreenshot())
}

func (b *browser) save(name string, shot chromedp.Action[[]byte]) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, shot)
	if err != nil {
		b.t.Errorf("screenshot %s: %v", name, err)
		return ""
	}
	path := filepath.Join(artifactsDir(b.t), unsafeName.ReplaceAllString(b.t.Name()+"-"+name, "_")+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Errorf("saving %s: %v", path, err)
		return ""
	}
	if !bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")) || len(png) < 2000 {
		b.t.Errorf("screenshot %s: %d bytes, not a PNG of a page", path, len(png))
	}
	b.t.Logf("screenshot %s (%d bytes)", path, len(png))
	return path
}

// artifactsDir is $FERRY_TEST_ARTIFACTS, else testdata/artifacts (ignored by git).
func artifactsDir(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("FERRY_TEST_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join("testdata", "artifacts")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("artifacts directory: %v", err)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	return abs
}
