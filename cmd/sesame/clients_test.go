package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sesame-auth/sesame/db"
)

// TestClientsCommands drives `sesame clients` as an operator or a script
// would: add (confidential and public, --json), list, show, rotate-secret
// and remove, and checks that only the secret's SHA-256 is stored.
func TestClientsCommands(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	dbURL := "sqlite:" + filepath.Join(dir, "sesame.db")
	vars := env(map[string]string{"SESAME_DATABASE": dbURL, "SESAME_DATA_DIR": dir, "SESAME_LOG_LEVEL": "error"})
	sesame := func(args ...string) (string, error) {
		var out, errs bytes.Buffer
		err := run(ctx, args, vars, &out, &errs)
		return out.String(), err
	}
	out, err := sesame("clients", "add", "--name", "Grafana", "--redirect-uri", "https://grafana.example.com/login/generic_oauth",
		"--redirect-uri", "https://grafana2.example.com/cb", "--post-logout-redirect-uri", "https://grafana.example.com/",
		"--backchannel-logout-uri", "https://grafana.example.com/bc", "--json")
	if err != nil {
		t.Fatalf("clients add: %v", err)
	}
	var added map[string]any
	if err := json.Unmarshal([]byte(out), &added); err != nil {
		t.Fatalf("add --json printed %q: %v", out, err)
	}
	for _, k := range []string{"client_id", "client_secret", "name", "redirect_uris", "post_logout_redirect_uris", "public", "trusted", "pkce_required", "id_token_alg"} {
		if _, ok := added[k]; !ok {
			t.Errorf("add --json lacks %q: %s", k, out)
		}
	}
	id, secret := added["client_id"].(string), added["client_secret"].(string)
	if added["id_token_alg"] != "RS256" || added["public"] != false || added["pkce_required"] != true || len(added["redirect_uris"].([]any)) != 2 {
		t.Errorf("add --json = %s", out)
	}
	if len(secret) != 43 { // 256 bits, base64url
		t.Errorf("secret %q is not 256 bits", secret)
	}

	out, err = sesame("clients", "add", "--name", "CLI app", "--redirect-uri", "http://127.0.0.1/cb", "--public", "--trusted", "--id-token-alg", "ES256", "--json")
	if err != nil {
		t.Fatalf("clients add --public: %v", err)
	}
	var pub map[string]any
	_ = json.Unmarshal([]byte(out), &pub)
	if _, has := pub["client_secret"]; has || pub["public"] != true || pub["trusted"] != true || pub["id_token_alg"] != "ES256" {
		t.Errorf("public client = %s", out)
	}

	out, err = sesame("clients", "add", "--name", "Gitea", "--redirect-uri", "https://gitea.example.com/user/oauth2/sesame/callback", "--no-pkce", "--json")
	if err != nil || !strings.Contains(out, `"pkce_required": false`) {
		t.Fatalf("add --no-pkce = %q, %v", out, err)
	}
	if _, err := sesame("clients", "remove", strings.Split(strings.Split(out, `"client_id": "`)[1], `"`)[0]); err != nil {
		t.Fatal(err)
	}
	// --ciba: a confidential client asking for approvals needs no redirect URI; never a public one.
	out, err = sesame("clients", "add", "--name", "Bank", "--ciba", "--json")
	if err != nil || !strings.Contains(out, `"ciba": true`) || !strings.Contains(out, `"client_secret"`) {
		t.Fatalf("add --ciba = %q, %v", out, err)
	}
	if _, err := sesame("clients", "remove", strings.Split(strings.Split(out, `"client_id": "`)[1], `"`)[0]); err != nil {
		t.Fatal(err)
	}
	if out, err := sesame("clients", "add", "--name", "SPA", "--redirect-uri", "http://127.0.0.1/cb", "--public", "--ciba"); err == nil {
		t.Fatalf("add --public --ciba = %q; want refused", out)
	}
	out, err = sesame("clients", "list", "--json")
	var list []map[string]any
	if err != nil || json.Unmarshal([]byte(out), &list) != nil || len(list) != 2 || strings.Contains(out, secret) {
		t.Fatalf("list --json = %q, %v", out, err)
	}
	if out, err = sesame("clients", "show", id, "--json"); err != nil || !strings.Contains(out, `"Grafana"`) || strings.Contains(out, secret) {
		t.Fatalf("show = %q, %v", out, err)
	}
	if out, err = sesame("clients", "show", id); err != nil || !strings.Contains(out, "Grafana") {
		t.Fatalf("show (text) = %q, %v", out, err)
	}

	d, err := db.Open(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	stored, err := d.OAuthClientByID(ctx, id)
	sum := sha256.Sum256([]byte(secret))
	if err != nil || !bytes.Equal(stored.SecretHash, sum[:]) {
		t.Fatalf("stored secret hash = %x; want SHA-256 of the secret (%v)", stored.SecretHash, err)
	}

	out, err = sesame("clients", "rotate-secret", id, "--json")
	var rotated map[string]string
	if err != nil || json.Unmarshal([]byte(out), &rotated) != nil || rotated["client_secret"] == secret || len(rotated["client_secret"]) != 43 {
		t.Fatalf("rotate-secret = %q, %v", out, err)
	}
	if _, err := sesame("clients", "rotate-secret", pub["client_id"].(string)); err == nil {
		t.Error("rotate-secret of a public client succeeded")
	}

	bad := [][]string{
		{"clients", "add", "--name", "X"},                                               // no redirect URI
		{"clients", "add", "--name", "X", "--redirect-uri", "http://example.com/cb"},    // plain http off localhost
		{"clients", "add", "--name", "X", "--redirect-uri", "https://example.com/cb#f"}, // fragment
		{"clients", "add", "--name", "X", "--redirect-uri", "/cb"},                      // relative
		{"clients", "add", "--name", "X", "--redirect-uri", "https://a.example/cb", "--id-token-alg", "HS256"},
		{"clients", "add", "--name", "X", "--redirect-uri", "http://127.0.0.1/cb", "--public", "--no-pkce"},
		{"clients", "show", "nope"},
		{"clients", "frobnicate"},
	}
	for _, args := range bad {
		if _, err := sesame(args...); err == nil {
			t.Errorf("%v succeeded", args)
		}
	}
	if out, err = sesame("clients", "remove", id); err != nil {
		t.Fatalf("remove: %v", err)
	}
	if _, err := sesame("clients", "show", id); err == nil {
		t.Error("show after remove succeeded")
	}
	if _, err := sesame("clients", "remove", id); err == nil {
		t.Error("remove twice succeeded")
	}
}
