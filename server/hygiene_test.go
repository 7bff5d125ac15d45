package server_test

import (
	"context"
	"io"
	"net/http"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/sesame-auth/sesame"

	"github.com/sesame-auth/sesame/internal/testserver"
)

func TestBadInputIsAProblemNeverA5xx(t *testing.T) {
	e := testserver.New(t, testserver.Options{})
	cases := []struct {
		name, path string
		body       any
		headers    []testserver.Header
		status     int
		code       string
	}{
		{"non-JSON content type", "/api/email/start", "email=a@b.c", []testserver.Header{testserver.H("Content-Type", "application/x-www-form-urlencoded")}, 400, "bad_request"},
		{"invalid JSON", "/api/email/start", `{"email":`, nil, 400, "bad_request"},
		{"JSON array", "/api/email/start", `["a@b.c"]`, nil, 400, "bad_request"},
		{"wrong type", "/api/email/start", `{"email": 42}`, nil, 400, "bad_request"},
		{"malformed address", "/api/email/start", map[string]string{"email": "not-an-address"}, nil, 400, "bad_request"},
		{"address with display name", "/api/email/start", map[string]string{"email": "Eve <eve@example.com>"}, nil, 400, "bad_request"},
		{"empty body", "/api/email/start", nil, nil, 400, "bad_request"},
		{"code not digits", "/api/email/verify", map[string]string{"flow_id": "x", "code": "12a456"}, nil, 400, "bad_request"},
		{"unknown flow", "/api/email/verify", map[string]string{"flow_id": "nope", "code": "123456"}, nil, 410, "expired"},
		{"malformed link token", "/api/email/link", map[string]string{"token": "%%%"}, nil, 400, "bad_request"},
		{"unknown link token", "/api/email/link", map[string]string{"token": strings.Repeat("A", 43)}, nil, 410, "expired"},
		{"refresh without cookie", "/api/session/refresh", nil, nil, 401, "unauthorized"},
		{"refresh with junk cookie", "/api/session/refresh", nil, []testserver.Header{testserver.Cookie("sesame_refresh", "junk")}, 401, "unauthorized"},
		{"cross-origin POST", "/api/email/start", map[string]string{"email": "a@example.com"}, []testserver.Header{testserver.H("Origin", "https://evil.example")}, 403, "forbidden"},
		{"cross-site fetch", "/api/session/refresh", nil, []testserver.Header{testserver.H("Sec-Fetch-Site", "cross-site")}, 403, "forbidden"},
		{"unknown route", "/api/nothing", nil, nil, 404, "not_found"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			assertProblem(t, e.Do(t, "POST", c.path, c.body, c.headers...), c.status, c.code)
		})
	}
	t.Run("same-origin POST passes", func(t *testing.T) {
		r := e.Do(t, "POST", "/api/email/start", map[string]string{"email": "a@example.com"}, testserver.H("Origin", e.PublicURL), testserver.H("Sec-Fetch-Site", "same-origin"))
		if r.Status != http.StatusAccepted {
			t.Fatalf("same-origin start = %d %s", r.Status, r.Body)
		}
	})
}

// TestOversizedBody goes over a real socket, where the 64 KiB cap acts.
func TestOversizedBody(t *testing.T) {
	e := testserver.New(t, testserver.Options{Listen: true})
	big := `{"email":"` + strings.Repeat("a", 70<<10) + `@example.com"}`
	res, err := http.Post(e.BaseURL+"/api/email/start", "application/json", strings.NewReader(big))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	assertProblem(t, testserver.Response{Status: res.StatusCode, Header: res.Header, Body: body}, http.StatusRequestEntityTooLarge, "too_large")
}

func TestSecurityHeaders(t *testing.T) {
	e := testserver.New(t, testserver.Options{})
	for _, path := range []string{"/signin", "/signin?request=abc", "/signout", "/signout?logout=abc", "/auth/link", "/approve", "/account", "/api/me", "/healthz"} {
		r := e.Do(t, "GET", path, nil)
		csp := r.Header.Get("Content-Security-Policy")
		if !strings.Contains(csp, "frame-ancestors 'none'") || strings.Contains(csp, "unsafe-inline") {
			t.Errorf("%s: CSP %q", path, csp)
		}
		for h, want := range map[string]string{"Referrer-Policy": "no-referrer", "X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"} {
			if got := r.Header.Get(h); got != want {
				t.Errorf("%s: %s = %q; want %q", path, h, got, want)
			}
		}
	}
}

// TestEmailStartSameAnswerForKnownAndUnknown checks status and body shape;
// the timing half is BenchmarkEmailStartKnownVsUnknown.
func TestEmailStartSameAnswerForKnownAndUnknown(t *testing.T) {
	for _, signup := range []string{"open", "closed"} {
		t.Run(signup, func(t *testing.T) {
			e2 := testserver.New(t, testserver.Options{Signup: signup})
			if _, _, err := e2.App.DB.EnsureUser(context.Background(), sesame.User{ID: sesame.NewID(), Email: "known@example.com", WebAuthnHandle: sesame.RandomBytes(32)}); err != nil {
				t.Fatal(err)
			}
			known := e2.Do(t, "POST", "/api/email/start", map[string]string{"email": "known@example.com"})
			unknown := e2.Do(t, "POST", "/api/email/start", map[string]string{"email": "unknown@example.com"})
			if known.Status != unknown.Status || !reflect.DeepEqual(keys(known.JSON(t)), keys(unknown.JSON(t))) {
				t.Fatalf("known: %d %s; unknown: %d %s", known.Status, known.Body, unknown.Status, unknown.Body)
			}
		})
	}
}

func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func TestOperations(t *testing.T) {
	e := testserver.New(t, testserver.Options{})
	e.SignIn(t, "ops@example.com")
	for _, path := range []string{"/healthz", "/readyz"} {
		if r := e.Do(t, "GET", path, nil); r.Status != http.StatusOK {
			t.Errorf("%s = %d", path, r.Status)
		}
	}
	m := string(e.Do(t, "GET", "/metrics", nil).Body)
	for _, want := range []string{
		`sesame_http_requests_total{method="POST",route="/api/email/verify",status="200"} 1`,
		`sesame_sign_ins_total{method="email_code",result="success"} 1`,
		`sesame_http_request_duration_seconds_bucket{method="POST",route="/api/email/start"`,
	} {
		if !strings.Contains(m, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// TestNoSecretsInLogs runs every email and session path, collecting each
// secret the client saw, and searches the server's log for them.
func TestNoSecretsInLogs(t *testing.T) {
	e := testserver.New(t, testserver.Options{})
	var secrets []string
	flowID, code, link := e.StartEmail(t, "alice@example.com")
	secrets = append(secrets, code, link)
	s := testserver.SessionOf(t, e.Do(t, "POST", "/api/email/verify", map[string]string{"flow_id": flowID, "code": code}))
	secrets = append(secrets, s.Access, s.Refresh)
	_, code2, link2 := e.StartEmail(t, "alice@example.com")
	secrets = append(secrets, code2, link2)
	s2 := testserver.SessionOf(t, e.Do(t, "POST", "/api/email/link", map[string]string{"token": link2}))
	secrets = append(secrets, s2.Access, s2.Refresh)
	r := refresh(e, t, s2.Refresh)
	s3 := testserver.SessionOf(t, r)
	secrets = append(secrets, s3.Access, s3.Refresh)
	refresh(e, t, s2.Refresh) // a replay: logged as a warning
	e.Do(t, "GET", "/api/me", nil, testserver.Bearer(s.Access))
	e.Do(t, "GET", "/api/me", nil, testserver.Bearer("forged."+s.Access))

	logs := e.Logs()
	if !strings.Contains(logs, "refresh token reused") {
		t.Fatalf("the log looks empty or incomplete:\n%s", logs)
	}
	for _, secret := range secrets {
		if secret == "" {
			t.Fatal("a secret was not collected")
		}
		if strings.Contains(logs, secret) {
			t.Errorf("secret %.12s… found in the log", secret)
		}
	}
}
