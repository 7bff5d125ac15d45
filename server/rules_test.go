package server_test

// Tests that pin a SECURITY.md rule at its observable effect: the stored
// row, the header, the boundary on both sides. Each was checked by breaking
// the rule in the production code and watching the test fail (issue 17).

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sesame-auth/sesame/internal/testauthn"
	"github.com/sesame-auth/sesame/internal/testserver"
)

// TestLinkTokenStoredAsItsSHA256: the row holds SHA-256 of the token the
// mail carried, never the token (rule 12). Sign-in still working proves
// nothing here, since the same function hashes on both sides.
func TestLinkTokenStoredAsItsSHA256(t *testing.T) {
	e := testserver.New(t, testserver.Options{})
	flowID, _, token := e.StartEmail(t, "hash@example.com")
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(raw) != 32 {
		t.Fatalf("link token %q: %d bytes, %v; want 32 bytes of base64url", token, len(raw), err)
	}
	f, err := e.App.DB.EmailFlow(context.Background(), flowID)
	if err != nil {
		t.Fatal(err)
	}
	want := sha256.Sum256([]byte(token))
	if string(f.TokenHash) != string(want[:]) {
		t.Fatalf("stored token_hash = %x; want SHA-256 of the mailed token %x", f.TokenHash, want)
	}
	if strings.Contains(string(f.TokenHash), token) || strings.Contains(string(f.TokenHash), string(raw)) {
		t.Fatal("the token is stored in clear")
	}
}

// TestJSONEndpointsRefuseOtherContentTypes: a JSON body sent as another
// type is refused before it is parsed, and nothing happens (rule 37).
func TestJSONEndpointsRefuseOtherContentTypes(t *testing.T) {
	e := testserver.New(t, testserver.Options{})
	body := `{"email":"plain@example.com"}`
	for _, ct := range []string{"text/plain", "text/plain;charset=UTF-8", "application/x-www-form-urlencoded", "application/jsonx", ""} {
		r := e.Do(t, "POST", "/api/email/start", body, testserver.H("Content-Type", ct))
		assertProblem(t, r, http.StatusBadRequest, "bad_request")
	}
	if n, err := e.App.DB.TableRows(context.Background(), "email_flows"); err != nil || n != 0 {
		t.Fatalf("email_flows rows = %d, %v; want 0 after refused requests", n, err)
	}
	if r := e.Do(t, "POST", "/api/email/start", body, testserver.H("Content-Type", "application/json; charset=utf-8")); r.Status != http.StatusAccepted {
		t.Fatalf("the same body as application/json = %d %s; want 202", r.Status, r.Body)
	}
}

// TestSessionLimitsAtTheBoundary: a session dies 7 days after its last use
// and 30 days after sign-in, and not a minute earlier (rule 31).
func TestSessionLimitsAtTheBoundary(t *testing.T) {
	e := testserver.New(t, testserver.Options{})
	const day = 24 * time.Hour

	s := e.SignIn(t, "idle@example.com")
	e.Clock.Advance(7*day - time.Minute)
	r := refresh(e, t, s.Refresh)
	if r.Status != http.StatusOK {
		t.Fatalf("refresh after 7 days less a minute idle = %d %s; want 200", r.Status, r.Body)
	}
	next := r.Cookie("sesame_refresh")
	e.Clock.Advance(7*day + time.Minute)
	assertProblem(t, refresh(e, t, next), http.StatusUnauthorized, "unauthorized")

	s = e.SignIn(t, "busy@example.com")
	token := s.Refresh
	for elapsed := time.Duration(0); elapsed < 30*day-6*day; elapsed += 6 * day {
		e.Clock.Advance(6 * day)
		r := refresh(e, t, token)
		if r.Status != http.StatusOK {
			t.Fatalf("refresh on day %d = %d; a session used every 6 days lives 30 days", (elapsed+6*day)/day, r.Status)
		}
		token = r.Cookie("sesame_refresh")
	}
	// Day 24 now: the last refresh a minute before day 30 works …
	e.Clock.Advance(6*day - time.Minute)
	r = refresh(e, t, token)
	if r.Status != http.StatusOK {
		t.Fatalf("refresh a minute before 30 days = %d %s; want 200", r.Status, r.Body)
	}
	// … and two minutes later, used a minute ago, the session has ended.
	e.Clock.Advance(2 * time.Minute)
	assertProblem(t, refresh(e, t, r.Cookie("sesame_refresh")), http.StatusUnauthorized, "unauthorized")
}

// TestCodesPerAccountHour: an account gets at most 10 emailed codes an hour,
// however they are asked for (rule 18); each MFA login here is fresh, so
// only the account cap can refuse.
func TestCodesPerAccountHour(t *testing.T) {
	e := testserver.New(t, testserver.Options{})
	_, cl := signUpWithPassword(t, e, "capped@example.com") // the sign-up code is the first
	for i := 2; i <= 10; i++ {
		mfaToken, _ := passwordLogin(t, e, cl)
		sendMFACode(t, e, mfaToken, "capped@example.com")
	}
	mfaToken, _ := passwordLogin(t, e, cl)
	r := e.Do(t, "POST", "/api/mfa/email/send", map[string]string{"mfa_token": mfaToken})
	assertProblem(t, r, http.StatusTooManyRequests, "rate_limited")
	e.Clock.Advance(time.Hour)
	mfaToken, _ = passwordLogin(t, e, cl)
	sendMFACode(t, e, mfaToken, "capped@example.com")
}

// TestRefreshCookieAttributes: HttpOnly, SameSite=Strict, the session path,
// no Domain, and Secure exactly when the public URL is https; HSTS likewise
// (rules 36, 38).
func TestRefreshCookieAttributes(t *testing.T) {
	for _, publicURL := range []string{"http://localhost:8080", "https://id.example.com"} {
		t.Run(publicURL, func(t *testing.T) {
			e := testserver.New(t, testserver.Options{PublicURL: publicURL})
			flowID, code, _ := e.StartEmail(t, "cookie@example.com")
			r := e.Do(t, "POST", "/api/email/verify", map[string]string{"flow_id": flowID, "code": code}, testserver.H("Origin", publicURL))
			if r.Status != http.StatusOK {
				t.Fatalf("verify = %d %s", r.Status, r.Body)
			}
			var set string
			for _, v := range r.Header.Values("Set-Cookie") {
				if strings.HasPrefix(v, "sesame_refresh=") {
					set = v
				}
			}
			attrs := map[string]bool{}
			for _, part := range strings.Split(set, ";")[1:] {
				name, _, _ := strings.Cut(strings.TrimSpace(part), "=")
				attrs[strings.ToLower(name)] = true
			}
			https := strings.HasPrefix(publicURL, "https:")
			if !attrs["httponly"] || !strings.Contains(strings.ToLower(set), "samesite=strict") || !strings.Contains(set, "path=/api/session") {
				t.Errorf("Set-Cookie %q: want HttpOnly, SameSite=Strict, Path=/api/session", set)
			}
			if attrs["domain"] {
				t.Errorf("Set-Cookie %q has a Domain", set)
			}
			if attrs["secure"] != https {
				t.Errorf("Set-Cookie %q: Secure = %v; want %v", set, attrs["secure"], https)
			}
			hsts := r.Header.Get("Strict-Transport-Security")
			if https && !strings.Contains(hsts, "max-age=") {
				t.Errorf("https: Strict-Transport-Security = %q; want max-age", hsts)
			}
			if !https && hsts != "" {
				t.Errorf("http: Strict-Transport-Security = %q; want none", hsts)
			}
		})
	}
}

// TestRegisterFinishNeedsRecentSignIn: the 10-minute rule holds at finish
// too, so a ceremony begun in time cannot be finished later (rule 9).
func TestRegisterFinishNeedsRecentSignIn(t *testing.T) {
	e := testserver.New(t, testserver.Options{})
	s, _ := testauthn.SignUp(t, e, "late@example.com")
	e.Clock.Advance(9 * time.Minute)
	c := testauthn.Begin(t, e, "/api/webauthn/register/begin", nil, testserver.Bearer(s.Access))
	cred, err := testauthn.New(e.PublicURL).Create(c.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	e.Clock.Advance(2 * time.Minute)
	// A refresh renews the access token but keeps the 11-minute-old auth_time.
	s = testserver.SessionOf(t, refresh(e, t, s.Refresh))
	r := e.Do(t, "POST", "/api/webauthn/register/finish", testauthn.Finish(c.ID, cred), testserver.Bearer(s.Access))
	assertProblem(t, r, http.StatusForbidden, "reauth_required")
	me := e.Do(t, "GET", "/api/me", nil, testserver.Bearer(s.Access)).JSON(t)
	if creds, _ := me["credentials"].([]any); len(creds) != 1 {
		t.Fatalf("credentials after a refused finish = %d; want the 1 from sign-up", len(creds))
	}
}

// TestAuditEventFields: a sign-in's audit row says what, the result, the
// factor, the user, the IP, the user agent and the time (rule 40), for a
// wrong code as for the right one.
func TestAuditEventFields(t *testing.T) {
	e := testserver.New(t, testserver.Options{TrustProxy: true})
	ip, ua := testserver.H("X-Forwarded-For", "203.0.113.7"), testserver.H("User-Agent", "RulesTest/1.0")
	s := e.SignIn(t, "audit@example.com")
	e.Clock.Advance(time.Minute)
	at := e.Clock.Now()
	flowID, code, _ := e.StartEmail(t, "audit@example.com")
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	e.Do(t, "POST", "/api/email/verify", map[string]string{"flow_id": flowID, "code": wrong}, ip, ua)
	testserver.SessionOf(t, e.Do(t, "POST", "/api/email/verify", map[string]string{"flow_id": flowID, "code": code}, ip, ua))

	events, err := e.App.DB.AuditEvents(context.Background(), s.UserID, 50)
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]bool{}
	for _, ev := range events {
		if ev.Event != "sign_in" || ev.IP != "203.0.113.7" {
			continue
		}
		if ev.UserAgent != "RulesTest/1.0" || ev.Method != "email_code" || !ev.At.Equal(at.Truncate(time.Millisecond)) {
			t.Errorf("sign_in event %+v: want user agent RulesTest/1.0, method email_code, at %v", ev, at)
		}
		found[ev.Result] = true
	}
	if !found["success"] || !found["invalid_code"] {
		t.Errorf("want a successful and a failed (invalid_code) sign_in of the user with the client's IP among %+v", events)
	}
}

// TestPasswordLoginsPerIPHour: 100 password logins an hour from one IP,
// the 101st refused, another IP unaffected (rule 34).
func TestPasswordLoginsPerIPHour(t *testing.T) {
	e := testserver.New(t, testserver.Options{TrustProxy: true})
	n := 0
	begin := func(ip string) testserver.Response { // a new address each time: only the IP repeats
		n++
		first := fmt.Sprintf("n,,n=nobody%d@example.com,r=abcdefghijklmnop", n)
		return e.Do(t, "POST", "/api/password/login/begin", map[string]string{"client_first": first}, testserver.H("X-Forwarded-For", ip))
	}
	for i := 1; i <= 100; i++ {
		if r := begin("198.51.100.1"); r.Status != http.StatusOK {
			t.Fatalf("login %d = %d %s; want 200", i, r.Status, r.Body)
		}
	}
	assertProblem(t, begin("198.51.100.1"), http.StatusTooManyRequests, "rate_limited")
	if r := begin("198.51.100.2"); r.Status != http.StatusOK {
		t.Fatalf("another IP = %d; want 200", r.Status)
	}
	e.Clock.Advance(time.Hour)
	if r := begin("198.51.100.1"); r.Status != http.StatusOK {
		t.Fatalf("after the hour = %d; want 200", r.Status)
	}
}

// TestEmailStartPerAddressDay: one client gets 10 sign-in mails a day for
// an address, though each 15 minutes and each hour would allow more
// (rule 34).
func TestEmailStartPerAddressDay(t *testing.T) {
	e := testserver.New(t, testserver.Options{})
	// Start at 01:00 of a day, so the bursts below stay inside one day's window.
	now := e.Clock.Now()
	e.Clock.Advance(now.Truncate(24 * time.Hour).Add(25 * time.Hour).Sub(now))
	for hour := range 4 {
		for i := range 3 {
			if hour == 3 && i == 1 {
				assertProblem(t, startEmail(e, t, "daily@example.com"), http.StatusTooManyRequests, "rate_limited")
				e.Clock.Advance(24 * time.Hour) // the next day
				if r := startEmail(e, t, "daily@example.com"); r.Status != http.StatusAccepted {
					t.Fatalf("the next day: %d %s", r.Status, r.Body)
				}
				return
			}
			if r := startEmail(e, t, "daily@example.com"); r.Status != http.StatusAccepted {
				t.Fatalf("start %d of the day: %d %s", hour*3+i+1, r.Status, r.Body)
			}
		}
		e.Clock.Advance(time.Hour)
	}
}

// TestCredentialIDLengthLimit: a credential id of 1,023 bytes registers and
// signs in; one of 1,024 is refused and nothing is stored (rule 6).
func TestCredentialIDLengthLimit(t *testing.T) {
	e := testserver.New(t, testserver.Options{})
	s := e.SignIn(t, "longid@example.com")
	a := testauthn.New(e.PublicURL)
	a.Options = testauthn.Options{IDLength: 1023}
	long := testauthn.Register(t, e, a, s.Access)
	testauthn.SignIn(t, e, a, "longid@example.com")
	// Its id in a URL (rename, remove) is read back too.
	if r := e.Do(t, "PATCH", "/api/me/credentials/"+long.IDString(), map[string]any{"name": "Long"}, testserver.Bearer(s.Access)); r.Status != http.StatusOK {
		t.Fatalf("rename the 1,023-byte credential = %d %s; want 200", r.Status, r.Body)
	}

	tooLong := testauthn.New(e.PublicURL)
	tooLong.Options = testauthn.Options{IDLength: 1024}
	c := testauthn.Begin(t, e, "/api/webauthn/register/begin", nil, testserver.Bearer(s.Access))
	cred, err := tooLong.Create(c.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	r := e.Do(t, "POST", "/api/webauthn/register/finish", testauthn.Finish(c.ID, cred), testserver.Bearer(s.Access))
	if r.Status < 400 || r.Status >= 500 {
		t.Fatalf("1,024-byte credential id: %d %s; want a 4xx problem", r.Status, r.Body)
	}
	me := e.Do(t, "GET", "/api/me", nil, testserver.Bearer(s.Access)).JSON(t)
	if creds, _ := me["credentials"].([]any); len(creds) != 1 {
		t.Fatalf("credentials after the refused id = %d; want the one of 1,023 bytes", len(creds))
	}
}

// TestOverlongCeremonyIDAnswersExpired: a registration finish whose
// ceremony id is longer than webauthn.MaxCeremonyIDLength (64) is
// answered 410 expired, as an unknown one is, and spends nothing: the real
// ceremony still finishes with the same response (rule 1). (A sign-in's
// ceremony id is a ticket, webauthn.TestSignInTicket.)
func TestOverlongCeremonyIDAnswersExpired(t *testing.T) {
	e := testserver.New(t, testserver.Options{})
	s := e.SignIn(t, "ceremony@example.com")
	c := testauthn.Begin(t, e, "/api/webauthn/register/begin", map[string]any{}, testserver.Bearer(s.Access))
	resp, err := testauthn.New(e.PublicURL).Create(c.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{strings.Repeat("A", 65), c.ID + strings.Repeat("A", 65-len(c.ID))} {
		r := e.Do(t, "POST", "/api/webauthn/register/finish", testauthn.Finish(id, resp), testserver.Bearer(s.Access))
		assertProblem(t, r, http.StatusGone, "expired")
	}
	if r := e.Do(t, "POST", "/api/webauthn/register/finish", testauthn.Finish(c.ID, resp), testserver.Bearer(s.Access)); r.Status != http.StatusCreated {
		t.Fatalf("the real ceremony after the refused ids: %d %s; want 201", r.Status, r.Body)
	}
}
