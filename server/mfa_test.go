package server_test

import (
	"bytes"
	"encoding/json"
	"github.com/sesame-auth/sesame/internal/testkit"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/sesame-auth/sesame/internal/testserver"
	"github.com/sesame-auth/sesame/internal/testsmtp"
)

// mfaCode waits for the second-factor email to email and returns its code.
func mfaCode(t testing.TB, e *testserver.Env, email string) string {
	t.Helper()
	for {
		m := e.SMTP.Wait(t, email)
		if code := testsmtp.ExtractCode(m.Text); code != "" && strings.Contains(strings.ToLower(m.Subject), "code") {
			return code
		}
	}
}

func sendMFACode(t testing.TB, e *testserver.Env, mfaToken, email string) string {
	t.Helper()
	if r := e.Do(t, "POST", "/api/mfa/email/send", map[string]string{"mfa_token": mfaToken}); r.Status != http.StatusAccepted {
		t.Fatalf("mfa/email/send = %d %s", r.Status, r.Body)
	}
	return mfaCode(t, e, email)
}

// publicAPI are the routes that take no Bearer token by design: every other
// /api route must refuse an MFA-pending token.
// The /signin and /signout pages read and deny OpenID Connect requests
// before anyone has signed in; the /approve page holds the emailed link's
// token instead of a session.
var publicAPI = regexp.MustCompile(`^/api/(email/|session/refresh$|password/login/|mfa/|webauthn/login/|recovery/|oauth2/requests/:id$|oauth2/requests/:id/deny$|oauth2/logout/|approvals/link(/|$))`)

// TestMFATokenIsNotABearer: an MFA-pending token used as a Bearer token on
// every route that takes one answers 401 (SECURITY rule 28).
func TestMFATokenIsNotABearer(t *testing.T) {
	e := testserver.New(t, testserver.Options{})
	s, cl := signUpWithPassword(t, e, "heidi@example.com")
	mfaToken, _ := passwordLogin(t, e, cl)
	tried := 0
	for _, rt := range e.Fiber.GetRoutes(true) {
		if !strings.HasPrefix(rt.Path, "/api/") || publicAPI.MatchString(rt.Path) || rt.Method == http.MethodHead {
			continue
		}
		path := regexp.MustCompile(`:[a-z_]+`).ReplaceAllString(rt.Path, "x")
		t.Run(rt.Method+" "+rt.Path, func(t *testing.T) {
			r := e.Do(t, rt.Method, path, map[string]any{}, testserver.Bearer(mfaToken))
			assertProblem(t, r, http.StatusUnauthorized, "unauthorized")
		})
		tried++
	}
	if tried < 8 {
		t.Fatalf("only %d protected routes found", tried)
	}
	// The routes the brief names, explicitly.
	for _, p := range []string{"/api/me", "/api/me/sessions"} {
		assertProblem(t, e.Do(t, "GET", p, nil, testserver.Bearer(mfaToken)), http.StatusUnauthorized, "unauthorized")
	}
	assertProblem(t, e.Do(t, "POST", "/api/session/logout-all", nil, testserver.Bearer(mfaToken)), http.StatusUnauthorized, "unauthorized")
	// And the user's real session is untouched.
	if r := e.Do(t, "GET", "/api/me", nil, testserver.Bearer(s.Access)); r.Status != http.StatusOK {
		t.Fatalf("/api/me = %d", r.Status)
	}
	// Conversely an access token is no MFA-pending token.
	assertProblem(t, e.Do(t, "POST", "/api/mfa/email/send", map[string]string{"mfa_token": s.Access}), http.StatusUnauthorized, "unauthorized")
	assertProblem(t, e.Do(t, "POST", "/api/mfa/email/send", map[string]string{}), http.StatusUnauthorized, "unauthorized")
}

func TestMFASixthCodeFailsEvenIfRight(t *testing.T) {
	e := testserver.New(t, testserver.Options{})
	_, cl := signUpWithPassword(t, e, "ivan@example.com")
	mfaToken, _ := passwordLogin(t, e, cl)
	code := sendMFACode(t, e, mfaToken, "ivan@example.com")
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	for left := 4; left >= 0; left-- {
		p := assertProblem(t, e.Do(t, "POST", "/api/mfa/email/verify", map[string]string{"mfa_token": mfaToken, "code": wrong}), http.StatusBadRequest, "invalid_code")
		if p["attempts_left"] != float64(left) {
			t.Fatalf("attempts_left = %v; want %d", p["attempts_left"], left)
		}
	}
	assertNoSession(t, e.Do(t, "POST", "/api/mfa/email/verify", map[string]string{"mfa_token": mfaToken, "code": code}), http.StatusUnauthorized, "unauthorized")
	// Nor does a new code revive the token.
	assertProblem(t, e.Do(t, "POST", "/api/mfa/email/send", map[string]string{"mfa_token": mfaToken}), http.StatusUnauthorized, "unauthorized")
}

func TestMFATokenProducesOneSession(t *testing.T) {
	e := testserver.New(t, testserver.Options{})
	_, cl := signUpWithPassword(t, e, "judy@example.com")
	mfaToken, _ := passwordLogin(t, e, cl)
	code := sendMFACode(t, e, mfaToken, "judy@example.com")
	testserver.SessionOf(t, e.Do(t, "POST", "/api/mfa/email/verify", map[string]string{"mfa_token": mfaToken, "code": code}))
	assertNoSession(t, e.Do(t, "POST", "/api/mfa/email/verify", map[string]string{"mfa_token": mfaToken, "code": code}), http.StatusUnauthorized, "unauthorized")
	assertProblem(t, e.Do(t, "POST", "/api/mfa/email/send", map[string]string{"mfa_token": mfaToken}), http.StatusUnauthorized, "unauthorized")
	// A new password login gets a new token, which works.
	again, _ := passwordLogin(t, e, cl)
	code = sendMFACode(t, e, again, "judy@example.com")
	testserver.SessionOf(t, e.Do(t, "POST", "/api/mfa/email/verify", map[string]string{"mfa_token": again, "code": code}))
}

func TestMFACodeResends(t *testing.T) {
	e := testserver.New(t, testserver.Options{})
	_, cl := signUpWithPassword(t, e, "ken@example.com")
	mfaToken, _ := passwordLogin(t, e, cl)
	var code string
	for range 4 { // one send and three resends
		code = sendMFACode(t, e, mfaToken, "ken@example.com")
	}
	r := e.Do(t, "POST", "/api/mfa/email/send", map[string]string{"mfa_token": mfaToken})
	assertProblem(t, r, http.StatusTooManyRequests, "rate_limited")
	if r.Header.Get("Retry-After") == "" {
		t.Error("429 without Retry-After")
	}
	testserver.SessionOf(t, e.Do(t, "POST", "/api/mfa/email/verify", map[string]string{"mfa_token": mfaToken, "code": code}))
}

// TestNoPasswordSecretsInLogs runs the password and second-factor paths and
// searches the log for every secret the client saw (SECURITY rule 39).
func TestNoPasswordSecretsInLogs(t *testing.T) {
	e := testserver.New(t, testserver.Options{})
	_, cl := signUpWithPassword(t, e, "leo@example.com")
	conv, id, final := scramBegin(t, e, cl)
	r := scramFinish(t, e, id, final)
	body := r.JSON(t)
	if _, err := conv.Step(body["server_final"].(string)); err != nil {
		t.Fatal(err)
	}
	mfaToken := body["mfa_token"].(string)
	code := sendMFACode(t, e, mfaToken, "leo@example.com")
	e.Do(t, "POST", "/api/mfa/email/verify", map[string]string{"mfa_token": mfaToken, "code": "000000"})
	sess := testserver.SessionOf(t, e.Do(t, "POST", "/api/mfa/email/verify", map[string]string{"mfa_token": mfaToken, "code": code}))
	proof := final[strings.Index(final, ",p=")+3:]
	secrets := []string{proof, body["server_final"].(string)[2:], mfaToken, code, sess.Access, sess.Refresh, final[strings.Index(final, ",r=")+3 : strings.Index(final, ",p=")]}
	logs := e.Logs()
	if !strings.Contains(logs, "/api/password/login/finish") {
		t.Fatalf("the log looks incomplete:\n%s", logs)
	}
	for _, secret := range secrets {
		if strings.Contains(logs, secret) {
			t.Errorf("secret %.12s… found in the log", secret)
		}
	}
}

// TestScramJSSignsIn runs frontend/static/scram.js in Node against the real
// server over HTTP: it signs in with the password the Go client set, checks
// v=, retries once when told the login expired, and refuses a server that
// sends a wrong v=. (The headless-Chromium run of the real page is the
// lead's.)
func TestScramJSSignsIn(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		testkit.Missing(t, "node is not on PATH")
	}
	src, err := os.ReadFile(filepath.Join("..", "frontend", "static", "scram.js"))
	if err != nil {
		t.Fatal(err)
	}
	module := filepath.Join(t.TempDir(), "scram.mjs")
	if err := os.WriteFile(module, src, 0o600); err != nil {
		t.Fatal(err)
	}
	e := testserver.New(t, testserver.Options{Listen: true})
	s := e.SignIn(t, "mia@example.com")
	setPassword(t, e, s, "mia@example.com", testPassword)

	modURL, _ := json.Marshal("file://" + module)
	script := `
import { login, ScramError } from ` + string(modURL) + `;
const [base, email, password] = process.argv.slice(1);
const out = {};
// 1. A plain login.
out.plain = await login(email, password, { baseURL: base });
// 2. The first finish is answered 410 expired (as after 60 s): one retry.
let finishes = 0;
const expireOnce = async (url, init) => {
  if (url.endsWith("/finish") && finishes++ === 0) {
    return new Response(JSON.stringify({ code: "expired", status: 410, detail: "expired" }), { status: 410 });
  }
  return fetch(url, init);
};
out.retried = await login(email, password, { baseURL: base, fetch: expireOnce });
out.finishes = finishes;
// 3. A server whose v= is wrong: abort, no token.
const forge = async (url, init) => {
  const res = await fetch(url, init);
  if (!url.endsWith("/finish")) return res;
  const body = await res.json();
  body.server_final = "v=" + btoa("x".repeat(32));
  return new Response(JSON.stringify(body), { status: 200 });
};
try { await login(email, password, { baseURL: base, fetch: forge }); out.forged = "accepted"; }
catch (e) { out.forged = e instanceof ScramError ? e.code : String(e); }
// 4. A wrong password.
try { await login(email, password + "!", { baseURL: base }); out.wrong = "accepted"; }
catch (e) { out.wrong = e.status + " " + e.code; }
console.log(JSON.stringify(out));
`
	cmd := exec.Command(node, "--input-type=module", "-e", script, e.BaseURL, "mia@example.com", testPassword)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.Output()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, stderr.String())
	}
	var out struct {
		Plain, Retried struct {
			MFAToken   string   `json:"mfa_token"`
			MFAMethods []string `json:"mfa_methods"`
			ExpiresIn  int      `json:"expires_in"`
		}
		Finishes int
		Forged   string
		Wrong    string
	}
	if err := json.Unmarshal(stdout, &out); err != nil {
		t.Fatalf("node output %q: %v", stdout, err)
	}
	if out.Plain.MFAToken == "" || out.Plain.ExpiresIn != 300 || len(out.Plain.MFAMethods) == 0 {
		t.Errorf("login = %+v; want an mfa_token", out.Plain)
	}
	if out.Retried.MFAToken == "" || out.Finishes != 2 {
		t.Errorf("after an expired finish: %+v after %d finishes; want a token after 2", out.Retried, out.Finishes)
	}
	if out.Forged != "server_signature" {
		t.Errorf("a wrong v= gave %q; want ScramError server_signature", out.Forged)
	}
	if out.Wrong != "401 invalid_credentials" {
		t.Errorf("a wrong password gave %q; want 401 invalid_credentials", out.Wrong)
	}
	// The token the module got completes the sign-in.
	code := sendMFACode(t, e, out.Plain.MFAToken, "mia@example.com")
	testserver.SessionOf(t, e.Do(t, "POST", "/api/mfa/email/verify", map[string]string{"mfa_token": out.Plain.MFAToken, "code": code}))
}
