package frontend

import (
	"bytes"
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
	for _, name := range []string{"signin", "link", "account"} {
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
