// Package browser_test drives Sesame's pages in headless Chromium with the
// DevTools protocol (chromedp) and its virtual WebAuthn authenticator, each
// test against its own Sesame (internal/testserver) on a real port.
//
// One browser serves the whole package (TestMain); each test opens its own
// browser contexts, which share nothing (cookies, storage). Without
// Chromium at /usr/bin/chromium (or $SESAME_CHROMIUM) every test skips.
//
// Each test saves a screenshot of every page it passes through into its
// artifact directory: run with -artifacts -outputdir DIR to keep them.
package browser_test

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/chromedp/chromedp"
)

// browser is the shared browser's context, nil when Chromium is missing.
var browser context.Context

func chromiumPath() string {
	if p := os.Getenv("SESAME_CHROMIUM"); p != "" {
		return p
	}
	return "/usr/bin/chromium"
}

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	path := chromiumPath()
	if _, err := os.Stat(path); err != nil {
		return m.Run() // every test skips
	}
	dir, err := os.MkdirTemp("", "sesame-chromium-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(path),
		chromedp.UserDataDir(dir),
		chromedp.Headless,
		chromedp.NoSandbox, // tests may run as root
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-features", "Translate"),
		chromedp.Flag("lang", "en-US"),
	)
	defer cancelAlloc()
	// No timeout here: this context owns the browser for the whole run.
	ctx, cancel := chromedp.NewContext(alloc)
	defer cancel()
	if err := chromedp.Do(ctx); err != nil {
		fmt.Fprintf(os.Stderr, "start %s: %v\n", path, err)
		return 1
	}
	browser = ctx
	return m.Run()
}
