// Package frontend holds Sesame's pages, styles and JavaScript modules,
// embedded in the binary. The pages speak only the public JSON API.
//
// The pages are written in English; static/i18n.js translates them in the
// browser. The server only chooses the starting language from
// Accept-Language (PageFor), which the page then keeps unless the user
// picks another one with the language switch.
package frontend

import (
	"bytes"
	"embed"
	"io/fs"
	"strconv"
	"strings"
)

//go:embed static pages
var files embed.FS

// Languages are the languages the pages are translated into, the first
// being the default.
var Languages = []string{"en", "ja"}

// Static is the tree served under /static/.
func Static() fs.FS {
	sub, err := fs.Sub(files, "static")
	if err != nil {
		panic(err) // the embedded tree always has static/
	}
	return sub
}

// Page returns the HTML of the page name ("signin", "link", "approve",
// "account", "signout").
func Page(name string) ([]byte, error) {
	return files.ReadFile("pages/" + name + ".html")
}

// PageFor returns the page name with its <html lang> set to the language
// Language picks from acceptLanguage.
func PageFor(name, acceptLanguage string) ([]byte, error) {
	body, err := Page(name)
	if err != nil {
		return nil, err
	}
	lang := Language(acceptLanguage)
	if lang == Languages[0] {
		return body, nil
	}
	return bytes.Replace(body, []byte(`<html lang="en">`), []byte(`<html lang="`+lang+`">`), 1), nil
}

// Language returns the supported language an Accept-Language header
// (RFC 9110 §12.5.4) prefers most, or the default. "ja-JP" matches "ja";
// "*" and unknown languages give the default.
func Language(acceptLanguage string) string {
	best, bestQ := Languages[0], 0.0
	for _, part := range strings.Split(acceptLanguage, ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		q := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				continue
			}
			q = f
		}
		primary, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(tag)), "-")
		for _, l := range Languages {
			if primary == l && q > bestQ {
				best, bestQ = l, q
			}
		}
	}
	return best
}
