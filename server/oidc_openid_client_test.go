package server_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net/url"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/sesame-auth/sesame/internal/testauthn"
	"github.com/sesame-auth/sesame/internal/testkit"
	"github.com/sesame-auth/sesame/internal/testserver"
	"github.com/sesame-auth/sesame/oidc"
)

// TestOpenIDClientNode lets a relying party we did not write judge the
// provider: openid-client 6 (Node, vendored in testdata/openid-client by
// `make openid-client`) discovers Sesame, sends the person to authorize
// with PKCE, state and nonce, redeems the code, validates the ID token
// (signature from the JWKS, iss, aud, exp, iat, nonce, the client's
// algorithm, RFC 9207 iss in the callback), calls userinfo and refreshes.
// Sesame's side of the person (sign-in, accept) is done here, as the
// /signin page does it. A confidential RS256 client with
// client_secret_basic and a public ES256 one with PKCE alone.
func TestOpenIDClientNode(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		testkit.Missing(t, "node is not on PATH")
	}
	script, err := filepath.Abs(filepath.Join("testdata", "openid-client", "rp.mjs"))
	if err != nil {
		t.Fatal(err)
	}
	e := testserver.New(t, listening)
	_, a := testauthn.SignUp(t, e, "uma@example.com")
	s := testauthn.SignIn(t, e, a, "")
	for _, tc := range []struct {
		name string
		reg  oidc.NewClient
	}{
		{"confidential RS256", oidc.NewClient{Name: "Node app"}},
		{"public ES256", oidc.NewClient{Name: "Node SPA", Public: true, IDTokenAlg: "ES256"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.reg.RedirectURIs = []string{rpRedirect}
			c, secret, err := e.App.OIDC.Register(context.Background(), tc.reg)
			if err != nil {
				t.Fatal(err)
			}
			args, _ := json.Marshal(map[string]string{"issuer": e.PublicURL, "clientId": c.ID, "clientSecret": secret,
				"alg": c.IDTokenAlg, "scope": "openid email offline_access"})
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, node, script, string(args))
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			stdin, _ := cmd.StdinPipe()
			stdout, _ := cmd.StdoutPipe()
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			out := bufio.NewScanner(stdout)
			read := func(v any) {
				t.Helper()
				if !out.Scan() {
					_ = cmd.Wait()
					t.Fatalf("openid-client said nothing more: %s", stderr.String())
				}
				if err := json.Unmarshal(out.Bytes(), v); err != nil {
					t.Fatalf("openid-client wrote %q: %v", out.Bytes(), err)
				}
			}

			var start struct {
				AuthorizationURL string `json:"authorization_url"`
			}
			read(&start)
			u, err := url.Parse(start.AuthorizationURL)
			if err != nil {
				t.Fatal(err)
			}
			f := started(t, e.Do(t, "GET", u.RequestURI(), nil))
			r := accept(t, e, f, s.Access, true)
			callback, _ := r.JSON(t)["redirect_to"].(string)
			if callback == "" {
				t.Fatalf("accept = %d %s", r.Status, r.Body)
			}
			if _, err := stdin.Write([]byte(callback + "\n")); err != nil {
				t.Fatal(err)
			}
			stdin.Close()

			var got struct {
				Claims    map[string]any `json:"claims"`
				UserInfo  map[string]any `json:"userinfo"`
				TokenType string         `json:"token_type"`
				Scope     string         `json:"scope"`
				Refreshed struct {
					Rotated   bool   `json:"rotated"`
					NewAccess bool   `json:"new_access"`
					Sub       string `json:"sub"`
				} `json:"refreshed"`
			}
			read(&got)
			if err := cmd.Wait(); err != nil {
				t.Fatalf("openid-client: %v\n%s", err, stderr.String())
			}
			if got.Claims["iss"] != e.PublicURL || got.Claims["aud"] != c.ID || got.Claims["sub"] != s.UserID || got.Claims["sid"] == nil {
				t.Errorf("ID token claims %v", got.Claims)
			}
			if got.UserInfo["sub"] != s.UserID || got.UserInfo["email"] != "uma@example.com" {
				t.Errorf("userinfo %v", got.UserInfo)
			}
			if got.TokenType != "bearer" && got.TokenType != "Bearer" {
				t.Errorf("token_type %q", got.TokenType)
			}
			if !got.Refreshed.Rotated || !got.Refreshed.NewAccess || got.Refreshed.Sub != s.UserID {
				t.Errorf("refresh: %+v; want a rotated refresh token, a new access token and an ID token for the same sub", got.Refreshed)
			}
		})
	}
}
