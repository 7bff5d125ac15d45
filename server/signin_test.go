package server_test

import (
	"context"
	"encoding/base64"
	"net/http"
	"testing"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/internal/testauthn"
	"github.com/sesame-auth/sesame/internal/testserver"
)

// auditOf returns userID's audit events as "event:result", newest first.
func auditOf(t testing.TB, e *testserver.Env, userID string) []sesame.AuditEvent {
	t.Helper()
	events, err := e.App.DB.AuditEvents(context.Background(), userID, 100)
	if err != nil {
		t.Fatal(err)
	}
	return events
}

func hasEvent(events []sesame.AuditEvent, event, result, method string) bool {
	for _, ev := range events {
		if ev.Event == event && ev.Result == result && (method == "" || ev.Method == method) {
			return true
		}
	}
	return false
}

func rows(t testing.TB, e *testserver.Env, table string) int {
	t.Helper()
	n, err := e.App.DB.TableRows(context.Background(), table)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestDisabledAccountRefusedOnEveryWayIn: whichever way a disabled
// account proves a factor, the sign-in is refused the same way (403
// account_disabled), makes no session, and is audited under the account.
// Each way in proves its factor first; the account is disabled just
// before the last request. The refusal still spends the proof's one-time
// secret: enabled again, the account gets no session from a replay.
func TestDisabledAccountRefusedOnEveryWayIn(t *testing.T) {
	const email = "alice@example.com"
	type setup struct {
		e      *testserver.Env
		a      *testauthn.Authenticator
		s      testserver.Session
		userID string
	}
	passkeyFinish := func(st setup, emailFirst bool) func() testserver.Response {
		body := map[string]any{}
		if emailFirst {
			body["email"] = email
		}
		c := testauthn.Begin(t, st.e, "/api/webauthn/login/begin", body)
		resp, err := st.a.Get(c.PublicKey)
		if err != nil {
			t.Fatal(err)
		}
		return func() testserver.Response {
			return st.e.Do(t, "POST", "/api/webauthn/login/finish", testauthn.Finish(c.ID, resp))
		}
	}
	for _, tc := range []struct {
		name, method string
		password     bool
		prove        func(st setup) func() testserver.Response
	}{
		{"passkey", "passkey", false, func(st setup) func() testserver.Response { return passkeyFinish(st, false) }},
		{"passkey, email first", "passkey", false, func(st setup) func() testserver.Response { return passkeyFinish(st, true) }},
		{"email code", "email_code", false, func(st setup) func() testserver.Response {
			flowID, code, _ := st.e.StartEmail(t, email)
			return func() testserver.Response {
				return st.e.Do(t, "POST", "/api/email/verify", map[string]string{"flow_id": flowID, "code": code})
			}
		}},
		{"email link", "email_link", false, func(st setup) func() testserver.Response {
			_, _, link := st.e.StartEmail(t, email)
			return func() testserver.Response {
				return st.e.Do(t, "POST", "/api/email/link", map[string]string{"token": link})
			}
		}},
		{"password and email code", "password_email", true, func(st setup) func() testserver.Response {
			cl := setPassword(t, st.e, st.s, email, testPassword)
			mfaToken, _ := passwordLogin(t, st.e, cl)
			code := sendMFACode(t, st.e, mfaToken, email)
			return func() testserver.Response {
				return st.e.Do(t, "POST", "/api/mfa/email/verify", map[string]string{"mfa_token": mfaToken, "code": code})
			}
		}},
		{"password and passkey", "password_passkey", true, func(st setup) func() testserver.Response {
			cl := setPassword(t, st.e, st.s, email, testPassword)
			mfaToken, _ := passwordLogin(t, st.e, cl)
			c := testauthn.Begin(t, st.e, "/api/mfa/webauthn/begin", map[string]any{"mfa_token": mfaToken})
			resp, err := st.a.Get(c.PublicKey)
			if err != nil {
				t.Fatal(err)
			}
			body := testauthn.Finish(c.ID, resp)
			body["mfa_token"] = mfaToken
			return func() testserver.Response { return st.e.Do(t, "POST", "/api/mfa/webauthn/finish", body) }
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := testserver.New(t, testserver.Options{})
			s, a := testauthn.SignUp(t, e, email)
			finish := tc.prove(setup{e: e, a: a, s: s, userID: s.UserID})
			if err := e.App.DB.DisableUser(context.Background(), s.UserID, e.Clock.Now()); err != nil {
				t.Fatal(err)
			}
			sessions := rows(t, e, "sessions")
			assertNoSession(t, finish(), http.StatusForbidden, sesame.EAccountDisabled)
			if n := rows(t, e, "sessions"); n != sessions {
				t.Errorf("sessions %d → %d: a disabled account got one", sessions, n)
			}
			if events := auditOf(t, e, s.UserID); !hasEvent(events, "sign_in", sesame.EAccountDisabled, tc.method) {
				t.Errorf("no sign_in %s audit event for %s under the user: %+v", sesame.EAccountDisabled, tc.method, events)
			}
			// The refused attempt used its one-time secret up (SECURITY
			// rules 1, 13): enabled again, the same proof makes no session.
			if _, err := e.App.DB.SetUserDisabled(context.Background(), s.UserID, false, e.Clock.Now()); err != nil {
				t.Fatal(err)
			}
			if r := finish(); r.Status < 400 || r.Status > 499 || rows(t, e, "sessions") != sessions {
				t.Errorf("the refused proof replayed once the account was enabled again: %d %s", r.Status, r.Body)
			}
		})
	}
}

// TestEndedSessionTokenChangesNothing (SECURITY rule 52): after "sign out
// everywhere" on one device, another device's access token, still inside
// its 10 minutes, can add, remove or change nothing — not even with a
// ceremony or a password set it began before. Reads stay stateless.
func TestEndedSessionTokenChangesNothing(t *testing.T) {
	e := testserver.New(t, testserver.Options{})
	ctx := context.Background()
	owner, a := testauthn.SignUp(t, e, "alice@example.com")
	setPassword(t, e, owner, "alice@example.com", testPassword)
	thief := testauthn.SignIn(t, e, a, "")
	cred := a.Credentials[0]
	// Begun while the thief's session was live.
	reg := testauthn.Begin(t, e, "/api/webauthn/register/begin", map[string]any{}, testserver.Bearer(thief.Access))
	regResp, err := testauthn.New(e.PublicURL).Create(reg.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	set := e.Do(t, "POST", "/api/password/set/begin", nil, testserver.Bearer(thief.Access))
	if set.Status != http.StatusOK {
		t.Fatalf("set/begin = %d %s", set.Status, set.Body)
	}
	setID := set.JSON(t)["set_id"]
	_, _, storedKeyBefore, _, err := e.App.DB.PasswordOf(ctx, owner.UserID)
	if err != nil {
		t.Fatal(err)
	}
	credsBefore, _ := e.App.DB.CredentialsByUser(ctx, owner.UserID)

	if r := e.Do(t, "POST", "/api/session/logout-all", nil, testserver.Bearer(owner.Access)); r.Status != http.StatusNoContent {
		t.Fatalf("logout-all = %d %s", r.Status, r.Body)
	}
	bearer := testserver.Bearer(thief.Access)
	key32 := base64.StdEncoding.EncodeToString(make([]byte, 32))
	for _, req := range []struct {
		method, path string
		body         any
	}{
		{"POST", "/api/webauthn/register/begin", map[string]any{}},
		{"POST", "/api/webauthn/register/finish", testauthn.Finish(reg.ID, regResp)},
		{"PATCH", "/api/me/credentials/" + cred.IDString(), map[string]any{"name": "mine now"}},
		{"DELETE", "/api/me/credentials/" + cred.IDString(), nil},
		{"POST", "/api/password/set/begin", nil},
		{"POST", "/api/password/set/finish", map[string]any{"set_id": setID, "stored_key": key32, "server_key": key32}},
		{"DELETE", "/api/password", nil},
		{"POST", "/api/session/logout-all", nil},
		{"DELETE", "/api/me/sessions/" + owner.UserID, nil},
	} {
		r := e.Do(t, req.method, req.path, req.body, bearer)
		if r.Status != http.StatusUnauthorized || r.Header.Get("WWW-Authenticate") == "" {
			t.Errorf("%s %s with an ended session's token = %d %s; want 401", req.method, req.path, r.Status, r.Body)
		}
	}
	credsAfter, _ := e.App.DB.CredentialsByUser(ctx, owner.UserID)
	if len(credsAfter) != len(credsBefore) || credsAfter[0].Name != credsBefore[0].Name {
		t.Errorf("credentials changed: %d %q → %d %q", len(credsBefore), credsBefore[0].Name, len(credsAfter), credsAfter[0].Name)
	}
	if _, _, storedKeyAfter, _, err := e.App.DB.PasswordOf(ctx, owner.UserID); err != nil || string(storedKeyAfter) != string(storedKeyBefore) {
		t.Errorf("password changed or removed: %v", err)
	}
	// /api/me stays a stateless read (docs/api.md).
	if r := e.Do(t, "GET", "/api/me", nil, bearer); r.Status != http.StatusOK {
		t.Errorf("GET /api/me = %d; want 200 until the token expires", r.Status)
	}
}

// TestFailedSignInsNameTheUser (SECURITY rule 40): a failed attempt is
// audited under the account its secret or credential names.
func TestFailedSignInsNameTheUser(t *testing.T) {
	e := testserver.New(t, testserver.Options{})
	s, cl := signUpWithPassword(t, e, "bob@example.com")

	flowID, code, _ := e.StartEmail(t, "bob@example.com")
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	assertNoSession(t, e.Do(t, "POST", "/api/email/verify", map[string]string{"flow_id": flowID, "code": wrong}), http.StatusBadRequest, sesame.EInvalidCode)

	_, loginID, final := scramBegin(t, e, cl)
	final = final[:len(final)-4] + "AAA=" // a wrong proof
	if r := scramFinish(t, e, loginID, final); r.Status != http.StatusUnauthorized {
		t.Fatalf("wrong proof = %d %s", r.Status, r.Body)
	}
	events := auditOf(t, e, s.UserID)
	for _, want := range [][3]string{
		{"sign_in", sesame.EInvalidCode, "email_code"},
		{"sign_in", sesame.EInvalidCredentials, "password"},
	} {
		if !hasEvent(events, want[0], want[1], want[2]) {
			t.Errorf("no %v event under the user: %+v", want, events)
		}
	}
}

// TestDisabledAccountGetsNoSecondFactor: a password login begun before
// the account was disabled and finished after is answered 403
// account_disabled, with no MFA token; one begun after looks like an
// address without a password (401); and an MFA token from before sends no
// code (rules 19, 25, 28). Nothing is made for the account: no code flow.
// (signin.Complete would refuse a session too; this is about what happens
// before it.)
func TestDisabledAccountGetsNoSecondFactor(t *testing.T) {
	e := testserver.New(t, testserver.Options{})
	s, cl := signUpWithPassword(t, e, "disabled@example.com")
	earlier, _ := passwordLogin(t, e, cl)
	_, loginID, final := scramBegin(t, e, cl)
	if err := e.App.DB.DisableUser(context.Background(), s.UserID, e.Clock.Now()); err != nil {
		t.Fatal(err)
	}
	flows := rows(t, e, "email_flows")

	r := scramFinish(t, e, loginID, final)
	if p := assertProblem(t, r, http.StatusForbidden, sesame.EAccountDisabled); p["mfa_token"] != nil || p["server_final"] != nil {
		t.Errorf("a disabled account's login answered %s", r.Body)
	}
	_, loginID, final = scramBegin(t, e, cl)
	assertProblem(t, scramFinish(t, e, loginID, final), http.StatusUnauthorized, sesame.EInvalidCredentials)
	assertProblem(t, e.Do(t, "POST", "/api/mfa/email/send", map[string]string{"mfa_token": earlier}), http.StatusForbidden, sesame.EAccountDisabled)
	if n := rows(t, e, "email_flows"); n != flows {
		t.Errorf("email flows %d → %d: a code was made for a disabled account", flows, n)
	}
}
