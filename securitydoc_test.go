package sesame_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestSecurityDocNamesRealTests: every test that docs/security.md cites as
// the proof of a rule exists, in the package it names (a row inherits the
// last package named before it), so the map cannot drift from the code.
func TestSecurityDocNamesRealTests(t *testing.T) {
	doc, err := os.ReadFile("docs/security.md")
	if err != nil {
		t.Fatal(err)
	}
	defined := map[string]map[string]bool{} // test name -> package dirs
	funcs := regexp.MustCompile(`(?m)^func ((?:Test|Benchmark|Fuzz)\w+)\(`)
	err = filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, "_test.go") {
			return err
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range funcs.FindAllStringSubmatch(string(src), -1) {
			if defined[m[1]] == nil {
				defined[m[1]] = map[string]bool{}
			}
			defined[m[1]][filepath.ToSlash(filepath.Dir(path))] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	cited := regexp.MustCompile("`((?:[a-z0-9/]+\\.)?)((?:Test|Benchmark|Fuzz)\\w+)`")
	checked := 0
	for _, line := range strings.Split(string(doc), "\n") {
		if !strings.HasPrefix(line, "|") {
			continue
		}
		pkg := ""
		for _, m := range cited.FindAllStringSubmatch(line, -1) {
			if m[1] != "" {
				pkg = strings.TrimSuffix(m[1], ".")
			}
			name := m[2]
			where := defined[name]
			ok := false
			for dir := range where {
				if pkg == "" || pkg == "sesame" && dir == "." || dir == pkg || strings.HasSuffix(dir, "/"+pkg) {
					ok = true
				}
			}
			if !ok {
				t.Errorf("docs/security.md cites %s.%s, which is not a test there (found in %v)", pkg, name, where)
			}
			checked++
		}
	}
	if checked < 50 {
		t.Fatalf("only %d test names found in docs/security.md", checked)
	}
}
