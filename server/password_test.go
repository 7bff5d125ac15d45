package server_test

import (
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xdg-go/scram"

	"github.com/sesame-auth/sesame/internal/testserver"
)

const testPassword = "correct horse battery staple"

// setPassword sets email's password over HTTP as scram.js does, with the
// keys a standard Go SCRAM client derives, and returns that client (whose
// PBKDF2 result is cached for the logins that follow).
func setPassword(t testing.TB, e *testserver.Env, s testserver.Session, email, password string) *scram.Client {
	t.Helper()
	r := e.Do(t, "POST", "/api/password/set/begin", nil, testserver.Bearer(s.Access))
	if r.Status != http.StatusOK {
		t.Fatalf("set/begin = %d %s", r.Status, r.Body)
	}
	m := r.JSON(t)
	salt, err := base64.StdEncoding.DecodeString(m["salt"].(string))
	if err != nil || len(salt) < 16 {
		t.Fatalf("set/begin salt %v: %v", m["salt"], err)
	}
	iterations := int(m["iterations"].(float64))
	if iterations < 600_000 {
		t.Fatalf("set/begin iterations = %d; want 600000 or more", iterations)
	}
	cl, err := scram.SHA256.NewClient(email, password, "")
	if err != nil {
		t.Fatal(err)
	}
	creds := cl.GetStoredCredentials(scram.KeyFactors{Salt: string(salt), Iters: iterations})
	r = e.Do(t, "POST", "/api/password/set/finish", map[string]any{
		"set_id":     m["set_id"],
		"stored_key": base64.StdEncoding.EncodeToString(creds.StoredKey),
		"server_key": base64.StdEncoding.EncodeToString(creds.ServerKey),
	}, testserver.Bearer(s.Access))
	if r.Status != http.StatusNoContent {
		t.Fatalf("set/finish = %d %s", r.Status, r.Body)
	}
	return cl
}

// signUpWithPassword signs email up by email code and gives it a password.
func signUpWithPassword(t testing.TB, e *testserver.Env, email string) (testserver.Session, *scram.Client) {
	t.Helper()
	s := e.SignIn(t, email)
	return s, setPassword(t, e, s, email, testPassword)
}

// scramBegin sends cl's client-first message and returns the conversation,
// the login id and the client-final message answering the server-first one.
func scramBegin(t testing.TB, e *testserver.Env, cl *scram.Client) (conv *scram.ClientConversation, loginID, clientFinal string) {
	t.Helper()
	conv = cl.NewConversation()
	first, err := conv.Step("")
	if err != nil {
		t.Fatal(err)
	}
	r := e.Do(t, "POST", "/api/password/login/begin", map[string]string{"client_first": first})
	if r.Status != http.StatusOK {
		t.Fatalf("login/begin = %d %s", r.Status, r.Body)
	}
	m := r.JSON(t)
	loginID, _ = m["login_id"].(string)
	clientFinal, err = conv.Step(m["server_first"].(string))
	if err != nil {
		t.Fatalf("client on server_first %v: %v", m["server_first"], err)
	}
	return conv, loginID, clientFinal
}

func scramFinish(t testing.TB, e *testserver.Env, loginID, clientFinal string) testserver.Response {
	t.Helper()
	return e.Do(t, "POST", "/api/password/login/finish", map[string]string{"login_id": loginID, "client_final": clientFinal})
}

// passwordLogin runs a whole SCRAM login with cl, checks the server's
// signature as any SCRAM client does, and returns the MFA-pending token.
func passwordLogin(t testing.TB, e *testserver.Env, cl *scram.Client) (mfaToken string, body map[string]any) {
	t.Helper()
	conv, loginID, final := scramBegin(t, e, cl)
	r := scramFinish(t, e, loginID, final)
	if r.Status != http.StatusOK {
		t.Fatalf("login/finish = %d %s", r.Status, r.Body)
	}
	body = r.JSON(t)
	if _, err := conv.Step(body["server_final"].(string)); err != nil || !conv.Valid() {
		t.Fatalf("the SCRAM client refused server_final %v: %v", body["server_final"], err)
	}
	if r.Cookie("sesame_refresh") != "" || body["access_token"] != nil {
		t.Fatalf("a password alone gave a session: %s", r.Body)
	}
	mfaToken, _ = body["mfa_token"].(string)
	return mfaToken, body
}

func TestPasswordSignInWithGoSCRAMClient(t *testing.T) {
	for _, pg := range []bool{false, true} {
		t.Run(map[bool]string{false: "sqlite", true: "postgres"}[pg], func(t *testing.T) {
			passwordSignIn(t, testserver.New(t, testserver.Options{Postgres: pg}))
		})
	}
}

func passwordSignIn(t *testing.T, e *testserver.Env) {
	s, cl := signUpWithPassword(t, e, "alice@example.com")
	if m := e.Do(t, "GET", "/api/me", nil, testserver.Bearer(s.Access)).JSON(t); m["has_password"] != true {
		t.Fatalf("/api/me has_password = %v; want true", m["has_password"])
	}
	mfaToken, body := passwordLogin(t, e, cl)
	methods, _ := body["mfa_methods"].([]any)
	if mfaToken == "" || body["expires_in"] != float64(300) || len(methods) != 1 || methods[0] != "email_otp" {
		t.Fatalf("login/finish = %v; want an mfa_token, expires_in 300, mfa_methods [email_otp]", body)
	}
	// The second factor: an emailed code.
	if r := e.Do(t, "POST", "/api/mfa/email/send", map[string]string{"mfa_token": mfaToken}); r.Status != http.StatusAccepted {
		t.Fatalf("mfa/email/send = %d %s", r.Status, r.Body)
	}
	code := mfaCode(t, e, "alice@example.com")
	sess := testserver.SessionOf(t, e.Do(t, "POST", "/api/mfa/email/verify", map[string]string{"mfa_token": mfaToken, "code": code}))
	if sess.UserID != s.UserID || len(sess.AMR) != 3 || sess.AMR[0] != "pwd" || sess.AMR[1] != "otp" || sess.AMR[2] != "mfa" {
		t.Fatalf("session user %s amr %v; want %s [pwd otp mfa]", sess.UserID, sess.AMR, s.UserID)
	}
	if r := e.Do(t, "GET", "/api/me", nil, testserver.Bearer(sess.Access)); r.Status != http.StatusOK {
		t.Fatalf("/api/me with the new session = %d", r.Status)
	}
}

func TestTwoLoginsSendDifferentBytes(t *testing.T) {
	e := testserver.New(t, testserver.Options{})
	_, cl := signUpWithPassword(t, e, "bob@example.com")
	_, id1, final1 := scramBegin(t, e, cl)
	_, id2, final2 := scramBegin(t, e, cl)
	if final1 == final2 || id1 == id2 {
		t.Fatal("two logins sent the same client_final")
	}
	for _, f := range [][2]string{{id1, final1}, {id2, final2}} {
		if r := scramFinish(t, e, f[0], f[1]); r.Status != http.StatusOK {
			t.Fatalf("login/finish = %d %s", r.Status, r.Body)
		}
	}
}

func TestPasswordLoginFailures(t *testing.T) {
	e := testserver.New(t, testserver.Options{})
	_, cl := signUpWithPassword(t, e, "carol@example.com")

	t.Run("wrong password", func(t *testing.T) {
		wrong, _ := scram.SHA256.NewClient("carol@example.com", testPassword+"!", "")
		_, id, final := scramBegin(t, e, wrong)
		p := assertProblem(t, scramFinish(t, e, id, final), http.StatusUnauthorized, "invalid_credentials")
		if _, ok := p["server_final"]; ok {
			t.Fatal("a failed login carried a server signature")
		}
	})
	t.Run("replayed client_final", func(t *testing.T) {
		_, id, final := scramBegin(t, e, cl)
		if r := scramFinish(t, e, id, final); r.Status != http.StatusOK {
			t.Fatalf("first finish = %d %s", r.Status, r.Body)
		}
		assertProblem(t, scramFinish(t, e, id, final), http.StatusGone, "used")
		// Nor does it work against a new login.
		_, id2, _ := scramBegin(t, e, cl)
		assertProblem(t, scramFinish(t, e, id2, final), http.StatusUnauthorized, "invalid_credentials")
	})
	t.Run("tampered combined nonce", func(t *testing.T) {
		_, id, final := scramBegin(t, e, cl)
		// Keep the client's part, change the server's last character.
		i := strings.Index(final, ",p=")
		swap := "A"
		if final[i-1] == 'A' {
			swap = "B"
		}
		tampered := final[:i-1] + swap + final[i:]
		assertProblem(t, scramFinish(t, e, id, tampered), http.StatusUnauthorized, "invalid_credentials")
	})
	t.Run("finished after 61 s", func(t *testing.T) {
		_, id, final := scramBegin(t, e, cl)
		e.Clock.Advance(61 * time.Second)
		assertProblem(t, scramFinish(t, e, id, final), http.StatusGone, "expired")
	})
	t.Run("a failed proof spends the login", func(t *testing.T) {
		_, id, final := scramBegin(t, e, cl)
		i := strings.Index(final, ",p=")
		assertProblem(t, scramFinish(t, e, id, final[:i]+",p="+base64.StdEncoding.EncodeToString(make([]byte, 32))), http.StatusUnauthorized, "invalid_credentials")
		assertProblem(t, scramFinish(t, e, id, final), http.StatusGone, "used")
	})
}

func TestPasswordMalformedMessages(t *testing.T) {
	e := testserver.New(t, testserver.Options{})
	_, cl := signUpWithPassword(t, e, "dave@example.com")
	proof := base64.StdEncoding.EncodeToString(make([]byte, 32))
	for _, tc := range []struct {
		name string
		body any
	}{
		{"empty body", ""},
		{"no client_first", map[string]string{}},
		{"not JSON", "n,,n=dave@example.com,r=abcdefgh"},
		{"client_first not a string", map[string]any{"client_first": 42}},
		{"channel binding y", map[string]string{"client_first": "y,,n=dave@example.com,r=abcdefgh"}},
		{"channel binding p", map[string]string{"client_first": "p=tls-server-end-point,,n=dave@example.com,r=abcdefgh"}},
		{"authzid", map[string]string{"client_first": "n,a=admin@example.com,n=dave@example.com,r=abcdefgh"}},
		{"no nonce", map[string]string{"client_first": "n,,n=dave@example.com"}},
		{"empty nonce", map[string]string{"client_first": "n,,n=dave@example.com,r="}},
		{"nonce with a space", map[string]string{"client_first": "n,,n=dave@example.com,r=abcd efgh"}},
		{"fields swapped", map[string]string{"client_first": "n,,r=abcdefgh,n=dave@example.com"}},
		{"extension", map[string]string{"client_first": "n,,m=x,n=dave@example.com,r=abcdefgh"}},
		{"bad saslname", map[string]string{"client_first": "n,,n=dave=40example.com,r=abcdefgh"}},
		{"not an address", map[string]string{"client_first": "n,,n=dave,r=abcdefgh"}},
		{"too long", map[string]string{"client_first": "n,,n=dave@example.com,r=" + strings.Repeat("x", 2000)}},
	} {
		t.Run("begin "+tc.name, func(t *testing.T) {
			assertProblem(t, e.Do(t, "POST", "/api/password/login/begin", tc.body), http.StatusBadRequest, "bad_request")
		})
	}
	_, id, _ := scramBegin(t, e, cl)
	for _, tc := range []struct {
		name string
		body any
	}{
		{"no login_id", map[string]string{"client_final": "c=biws,r=abcdefgh,p=" + proof}},
		{"no client_final", map[string]string{"login_id": id}},
		{"no proof", map[string]string{"login_id": id, "client_final": "c=biws,r=abcdefgh"}},
		{"channel binding y", map[string]string{"login_id": id, "client_final": "c=eSws,r=abcdefgh,p=" + proof}},
		{"c not base64", map[string]string{"login_id": id, "client_final": "c=!!!!,r=abcdefgh,p=" + proof}},
		{"proof not base64", map[string]string{"login_id": id, "client_final": "c=biws,r=abcdefgh,p=%%%%"}},
		{"short proof", map[string]string{"login_id": id, "client_final": "c=biws,r=abcdefgh,p=AAAA"}},
		{"extension", map[string]string{"login_id": id, "client_final": "c=biws,r=abcdefgh,x=1,p=" + proof}},
		{"fields swapped", map[string]string{"login_id": id, "client_final": "r=abcdefgh,c=biws,p=" + proof}},
		{"binary", map[string]string{"login_id": id, "client_final": "\x00\x01\x02"}},
	} {
		t.Run("finish "+tc.name, func(t *testing.T) {
			assertProblem(t, e.Do(t, "POST", "/api/password/login/finish", tc.body), http.StatusBadRequest, "bad_request")
		})
	}
}

// TestPasswordUnknownUser: an address without an account gets a
// well-formed server_first with a stable fake salt, shaped like a real
// user's, and 401 at the end (SECURITY rule 25).
func TestPasswordUnknownUser(t *testing.T) {
	e := testserver.New(t, testserver.Options{})
	signUpWithPassword(t, e, "erin@example.com")
	serverFirst := func(email string) (salt string, iterations int) {
		t.Helper()
		r := e.Do(t, "POST", "/api/password/login/begin", map[string]string{"client_first": "n,,n=" + email + ",r=fixednonce0123"})
		if r.Status != http.StatusOK {
			t.Fatalf("login/begin %s = %d %s", email, r.Status, r.Body)
		}
		m := r.JSON(t)
		f := strings.Split(m["server_first"].(string), ",")
		if len(f) != 3 || !strings.HasPrefix(f[0], "r=fixednonce0123") || len(f[0]) < len("r=fixednonce0123")+22 ||
			!strings.HasPrefix(f[1], "s=") || !strings.HasPrefix(f[2], "i=") || m["login_id"] == "" {
			t.Fatalf("server_first for %s = %v; want r=<client nonce + 128+ bits>,s=…,i=…", email, m)
		}
		b, err := base64.StdEncoding.DecodeString(f[1][2:])
		if err != nil {
			t.Fatalf("salt %q: %v", f[1], err)
		}
		n, err := strconv.Atoi(f[2][2:])
		if err != nil {
			t.Fatalf("iterations %q: %v", f[2], err)
		}
		return string(b), n
	}
	realSalt, realIters := serverFirst("erin@example.com")
	fake1, iters1 := serverFirst("nobody@example.com")
	fake2, _ := serverFirst("nobody@example.com")
	if fake1 != fake2 {
		t.Fatal("the fake salt changed between two logins")
	}
	if len(fake1) != len(realSalt) || iters1 != realIters {
		t.Fatalf("fake salt %d bytes, i=%d; a real user's is %d bytes, i=%d", len(fake1), iters1, len(realSalt), realIters)
	}
	cl, _ := scram.SHA256.NewClient("nobody@example.com", testPassword, "")
	_, id, final := scramBegin(t, e, cl)
	assertProblem(t, scramFinish(t, e, id, final), http.StatusUnauthorized, "invalid_credentials")
}

func TestSetPasswordRules(t *testing.T) {
	e := testserver.New(t, testserver.Options{})
	s := e.SignIn(t, "frank@example.com")
	begin := e.Do(t, "POST", "/api/password/set/begin", nil, testserver.Bearer(s.Access)).JSON(t)
	key := base64.StdEncoding.EncodeToString(make([]byte, 32))
	for _, tc := range []struct {
		name string
		body map[string]any
	}{
		{"too few iterations", map[string]any{"set_id": begin["set_id"], "stored_key": key, "server_key": key, "iterations": 4096}},
		{"keys not base64", map[string]any{"set_id": begin["set_id"], "stored_key": "***", "server_key": key}},
		{"short keys", map[string]any{"set_id": begin["set_id"], "stored_key": "AAAA", "server_key": "AAAA"}},
		{"no set_id", map[string]any{"stored_key": key, "server_key": key}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assertProblem(t, e.Do(t, "POST", "/api/password/set/finish", tc.body, testserver.Bearer(s.Access)), http.StatusBadRequest, "bad_request")
		})
	}
	// Without a Bearer token: 401. With an old sign-in: 403 reauth_required.
	assertProblem(t, e.Do(t, "POST", "/api/password/set/begin", nil), http.StatusUnauthorized, "unauthorized")
	e.Clock.Advance(10*time.Minute + time.Second)
	old := testserver.SessionOf(t, refresh(e, t, s.Refresh)) // a fresh access token, the old auth_time
	assertProblem(t, e.Do(t, "POST", "/api/password/set/begin", nil, testserver.Bearer(old.Access)), http.StatusForbidden, "reauth_required")
	assertProblem(t, e.Do(t, "POST", "/api/password/set/finish", map[string]any{"set_id": begin["set_id"], "stored_key": key, "server_key": key}, testserver.Bearer(old.Access)), http.StatusForbidden, "reauth_required")
	assertProblem(t, e.Do(t, "DELETE", "/api/password", nil, testserver.Bearer(old.Access)), http.StatusForbidden, "reauth_required")
}

// TestChangeAndRemovePassword: changing or removing a password ends the
// user's other sessions (SECURITY rule 32), emails a notice, and a removed
// password no longer signs in.
func TestChangeAndRemovePassword(t *testing.T) {
	e := testserver.New(t, testserver.Options{})
	const email = "grace@example.com"
	a := e.SignIn(t, email)
	b := e.SignIn(t, email)
	setPassword(t, e, a, email, testPassword)
	if m := e.SMTP.Wait(t, email); !strings.Contains(m.Subject+m.Text, "password") {
		t.Errorf("notice after setting = %q", m.Subject)
	}
	if r := refresh(e, t, b.Refresh); r.Status != http.StatusOK {
		t.Fatalf("setting a first password ended another session: refresh = %d", r.Status)
	} else {
		b = testserver.SessionOf(t, r)
	}

	cl := setPassword(t, e, a, email, "a new password, longer")
	e.SMTP.Wait(t, email) // the "changed" notice
	assertProblem(t, refresh(e, t, b.Refresh), http.StatusUnauthorized, "unauthorized")
	if r := e.Do(t, "GET", "/api/me", nil, testserver.Bearer(a.Access)); r.Status != http.StatusOK {
		t.Fatalf("the session that changed the password ended: %d", r.Status)
	}
	old, _ := scram.SHA256.NewClient(email, testPassword, "")
	_, id, final := scramBegin(t, e, old)
	assertProblem(t, scramFinish(t, e, id, final), http.StatusUnauthorized, "invalid_credentials")
	passwordLogin(t, e, cl)

	c := e.SignIn(t, email)
	if r := e.Do(t, "DELETE", "/api/password", nil, testserver.Bearer(a.Access)); r.Status != http.StatusNoContent {
		t.Fatalf("DELETE /api/password = %d %s", r.Status, r.Body)
	}
	if m := e.SMTP.Wait(t, email); !strings.Contains(strings.ToLower(m.Subject+m.Text), "removed") {
		t.Errorf("notice after removing = %q", m.Subject)
	}
	assertProblem(t, refresh(e, t, c.Refresh), http.StatusUnauthorized, "unauthorized")
	if m := e.Do(t, "GET", "/api/me", nil, testserver.Bearer(a.Access)).JSON(t); m["has_password"] != false {
		t.Fatalf("has_password after removing = %v", m["has_password"])
	}
	_, id, final = scramBegin(t, e, cl)
	assertProblem(t, scramFinish(t, e, id, final), http.StatusUnauthorized, "invalid_credentials")
	// Removing again changes nothing.
	if r := e.Do(t, "DELETE", "/api/password", nil, testserver.Bearer(a.Access)); r.Status != http.StatusNoContent {
		t.Fatalf("DELETE /api/password again = %d", r.Status)
	}
}
