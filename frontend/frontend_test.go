package frontend

import (
	"bytes"
	"io/fs"
	"regexp"
	"sort"
	"strings"
	"testing"
)

func TestLanguage(t *testing.T) {
	tests := []struct{ header, want string }{
		{"", "en"},
		{"ja", "ja"},
		{"ja-JP,ja;q=0.9,en-US;q=0.8,en;q=0.7", "ja"},
		{"en-US,en;q=0.9,ja;q=0.8", "en"},
		{"fr-FR,fr;q=0.9,ja;q=0.5", "ja"},
		{"fr", "en"},
		{"*", "en"},
		{"en;q=0.5, JA-jp", "ja"},
		{"ja;q=bad, en;q=0.1", "en"},
		{"ja;q=0", "en"},
	}
	for _, tt := range tests {
		if got := Language(tt.header); got != tt.want {
			t.Errorf("Language(%q) = %q; want %q", tt.header, got, tt.want)
		}
	}
}

func TestPageFor(t *testing.T) {
	for _, name := range []string{"signin", "link", "approve", "account", "signout"} {
		en, err := PageFor(name, "en")
		if err != nil || !bytes.Contains(en, []byte(`<html lang="en">`)) {
			t.Fatalf("PageFor(%q, en) = %.40q, %v; want <html lang=\"en\">", name, en, err)
		}
		ja, err := PageFor(name, "ja-JP")
		if err != nil || !bytes.Contains(ja, []byte(`<html lang="ja">`)) {
			t.Fatalf("PageFor(%q, ja-JP) lacks <html lang=\"ja\">: %v", name, err)
		}
	}
}

// TestTranslationsComplete holds i18n.js to its promise: every English
// text has a Japanese one and the other way round, and every key a page
// names with data-i18n exists.
func TestTranslationsComplete(t *testing.T) {
	src, err := fs.ReadFile(Static(), "i18n.js")
	if err != nil {
		t.Fatal(err)
	}
	text := string(src)
	jaAt := strings.Index(text, "\n  ja: {")
	end := strings.Index(text, "\n};")
	if jaAt < 0 || end < jaAt {
		t.Fatal("i18n.js: cannot find the en and ja blocks")
	}
	key := regexp.MustCompile(`(?m)^\s+"([\w.]+)":`)
	keys := func(block string) map[string]bool {
		m := map[string]bool{}
		for _, k := range key.FindAllStringSubmatch(block, -1) {
			m[k[1]] = true
		}
		return m
	}
	en, ja := keys(text[:jaAt]), keys(text[jaAt:end])
	if len(en) < 100 {
		t.Fatalf("found only %d English keys; the parser is wrong", len(en))
	}
	var missing []string
	for k := range en {
		if !ja[k] {
			missing = append(missing, "ja "+k)
		}
	}
	for k := range ja {
		if !en[k] {
			missing = append(missing, "en "+k)
		}
	}
	pages, _ := fs.Glob(files, "pages/*.html")
	attr := regexp.MustCompile(`data-i18n="([\w.]+)"`)
	for _, p := range pages {
		body, _ := fs.ReadFile(files, p)
		for _, m := range attr.FindAllStringSubmatch(string(body), -1) {
			if !en[m[1]] {
				missing = append(missing, p+" "+m[1])
			}
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("texts missing: %v", missing)
	}
}
