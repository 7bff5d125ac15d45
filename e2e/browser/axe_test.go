package browser_test

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// axeSource is axe-core, vendored for the tests (`make axe` refreshes it).
// It is put into the page through DevTools, never served by the app.
//
//go:embed testdata/axe-core/axe.min.js
var axeSource string

// axeViolation is the part of an axe-core violation a failure names.
type axeViolation struct {
	ID     string `json:"id"`
	Impact string `json:"impact"`
	Help   string `json:"help"`
	Nodes  []struct {
		Target  []any  `json:"target"`
		Summary string `json:"failureSummary"`
	} `json:"nodes"`
}

// colorScheme makes the page prefer scheme ("light" or "dark").
func (b *tab) colorScheme(scheme string) {
	b.t.Helper()
	b.call("prefers-color-scheme "+scheme, func(ctx context.Context) error {
		_, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}},
		})
		return err
	})
}

// axe runs axe-core on the page as it stands, in light and then dark
// colours, and fails the test on any violation of impact serious or
// critical. The page is left light.
func (b *tab) axe(label string) {
	b.t.Helper()
	if !eval[bool](b, `typeof window.axe === "object"`) {
		b.do("inject axe-core", chromedp.Evaluate[chromedp.Void](axeSource+"\n;undefined"))
	}
	for _, scheme := range []string{"light", "dark"} {
		b.colorScheme(scheme)
		ctx, cancel := b.step("axe " + label)
		out, err := chromedp.Run(ctx, chromedp.Evaluate[string](`axe.run(document, {resultTypes: ["violations"]}).then(r => JSON.stringify(r.violations))`, chromedp.EvalAwaitPromise))
		cancel()
		if err != nil {
			b.fatalf("axe %s (%s): %v", label, scheme, err)
		}
		var found []axeViolation
		if err := json.Unmarshal([]byte(out), &found); err != nil {
			b.fatalf("axe %s: %v", label, err)
		}
		for _, v := range found {
			if v.Impact != "serious" && v.Impact != "critical" {
				continue
			}
			var where []string
			for _, n := range v.Nodes {
				where = append(where, fmt.Sprint(n.Target)+": "+strings.ReplaceAll(n.Summary, "\n", " "))
			}
			b.t.Errorf("%s: axe on %s (%s): %s %s (%s): %s", b.name, label, scheme, v.Impact, v.ID, v.Help, strings.Join(where, "; "))
		}
	}
	b.colorScheme("light")
}

// look checks the page as it stands with axe (light and dark) and saves
// screenshots at phone width (light and dark) and desktop width.
func (b *tab) look(label string) {
	b.t.Helper()
	b.axe(label)
	b.shot(label + "-390")
	b.colorScheme("dark")
	b.shot(label + "-390-dark")
	b.colorScheme("light")
	b.do("desktop viewport", chromedp.EmulateViewport(1280, 800, chromedp.EmulateScale(1)))
	b.shot(label + "-1280")
	b.do("phone viewport", chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(1)))
}
