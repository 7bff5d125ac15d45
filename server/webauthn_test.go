package server_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/internal/testauthn"
	"github.com/sesame-auth/sesame/internal/testserver"
)

// assertNoSession fails unless r is a 4xx problem with the given code that
// carries neither an access token nor a refresh cookie.
func assertNoSession(t testing.TB, r testserver.Response, status int, code string) {
	t.Helper()
	if r.Status < 400 || r.Status > 499 {
		t.Fatalf("status = %d; want 4xx (body %s)", r.Status, r.Body)
	}
	assertProblem(t, r, status, code)
	if strings.Contains(string(r.Body), "access_token") || r.Cookie("sesame_refresh") != "" {
		t.Fatalf("a rejected finish handed out tokens: %s", r.Body)
	}
}

// editCredential decodes a credential JSON, lets fn change it, and encodes it again.
func editCredential(t testing.TB, cred []byte, fn func(m map[string]any)) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(cred, &m); err != nil {
		t.Fatal(err)
	}
	fn(m)
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func b64url(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func unb64url(t testing.TB, s any) []byte {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(s.(string))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// forgeAssertion signs an assertion by hand with cred's key, for responses
// the virtual authenticator cannot make, such as crossOrigin: true.
func forgeAssertion(t testing.TB, cred *testauthn.Credential, rpID string, clientData map[string]any, flags byte, counter uint32) []byte {
	t.Helper()
	cd, err := json.Marshal(clientData)
	if err != nil {
		t.Fatal(err)
	}
	rpHash := sha256.Sum256([]byte(rpID))
	authData := append(rpHash[:], flags)
	authData = binary.BigEndian.AppendUint32(authData, counter)
	cdHash := sha256.Sum256(cd)
	digest := sha256.Sum256(append(slices.Clone(authData), cdHash[:]...))
	k, err := x509.ParsePKCS8PrivateKey(cred.PrivateKey())
	if err != nil {
		t.Fatal(err)
	}
	sig, err := ecdsa.SignASN1(rand.Reader, k.(*ecdsa.PrivateKey), digest[:])
	if err != nil {
		t.Fatal(err)
	}
	out, _ := json.Marshal(map[string]any{
		"id": cred.IDString(), "rawId": cred.IDString(), "type": "public-key", "clientExtensionResults": map[string]any{},
		"response": map[string]any{"clientDataJSON": b64url(cd), "authenticatorData": b64url(authData), "signature": b64url(sig), "userHandle": b64url(cred.UserHandle)},
	})
	return out
}

// challengeOf reads the challenge of begin options.
func challengeOf(t testing.TB, options json.RawMessage) string {
	t.Helper()
	var o struct{ Challenge string }
	if err := json.Unmarshal(options, &o); err != nil {
		t.Fatal(err)
	}
	return o.Challenge
}

func TestPasskeyRegisterAndSignIn(t *testing.T) {
	e := testserver.New(t, testserver.Options{})
	s := e.SignIn(t, "alice@example.com")
	a := testauthn.New(e.PublicURL)
	a.Options.BackupEligible, a.Options.BackupState = true, true

	c := testauthn.Begin(t, e, "/api/webauthn/register/begin", map[string]any{"authenticator": nil}, testserver.Bearer(s.Access))
	resp, err := a.Create(c.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	body := testauthn.Finish(c.ID, resp)
	body["name"] = "Laptop"
	r := e.Do(t, "POST", "/api/webauthn/register/finish", body, testserver.Bearer(s.Access))
	if r.Status != http.StatusCreated {
		t.Fatalf("register finish = %d %s", r.Status, r.Body)
	}
	cred := r.JSON(t)["credential"].(map[string]any)
	credID := a.Credentials[0].IDString()
	if cred["id"] != credID || cred["name"] != "Laptop" || cred["backup_eligible"] != true || cred["backed_up"] != true ||
		cred["last_used_at"] != nil || cred["created_at"] == nil || len(cred["aaguid"].(string)) != 36 ||
		len(cred["transports"].([]any)) != 2 {
		t.Errorf("registered credential = %v", cred)
	}
	for _, k := range []string{"public_key", "sign_count", "user_id"} {
		if _, ok := cred[k]; ok {
			t.Errorf("credential JSON shows %q", k)
		}
	}
	if notice := e.SMTP.Wait(t, "alice@example.com"); !strings.Contains(notice.Text, `"Laptop"`) {
		t.Errorf("no passkey notice; got %q", notice.Subject)
	}

	for _, email := range []string{"", "alice@example.com"} {
		got := testauthn.SignIn(t, e, a, email)
		if got.UserID != s.UserID || !slices.Equal(got.AMR, []any{"swk", "user"}) {
			t.Fatalf("sign-in (email %q) = user %s amr %v; want %s [swk user]", email, got.UserID, got.AMR, s.UserID)
		}
		me := e.Do(t, "GET", "/api/me", nil, testserver.Bearer(got.Access))
		if me.Status != http.StatusOK {
			t.Fatalf("GET /api/me = %d %s", me.Status, me.Body)
		}
		creds := me.JSON(t)["credentials"].([]any)
		if len(creds) != 1 || creds[0].(map[string]any)["id"] != credID || creds[0].(map[string]any)["last_used_at"] == nil {
			t.Fatalf("/api/me credentials = %v; want the passkey, used", creds)
		}
	}
	// The session refreshes like any other.
	if r := e.Do(t, "POST", "/api/session/refresh", nil, testserver.Cookie("sesame_refresh", s.Refresh)); r.Status != http.StatusOK {
		t.Fatalf("refresh = %d", r.Status)
	}
}

func TestRegisterBeginAuthenticatorKinds(t *testing.T) {
	e := testserver.New(t, testserver.Options{})
	s := e.SignIn(t, "alice@example.com")
	for _, tc := range []struct {
		body        any
		residentKey string
		status      int
	}{
		{nil, "required", 200},
		{map[string]any{}, "required", 200},
		{map[string]any{"authenticator": "platform"}, "required", 200},
		{map[string]any{"authenticator": "cross-platform"}, "preferred", 200},
		{map[string]any{"authenticator": "usb"}, "", 400},
		{map[string]any{"authenticator": 7}, "", 400},
	} {
		r := e.Do(t, "POST", "/api/webauthn/register/begin", tc.body, testserver.Bearer(s.Access))
		if r.Status != tc.status {
			t.Fatalf("register begin %v = %d %s; want %d", tc.body, r.Status, r.Body, tc.status)
		}
		if tc.status != 200 {
			assertProblem(t, r, tc.status, "bad_request")
			continue
		}
		pk := r.JSON(t)["publicKey"].(map[string]any)
		if sel := pk["authenticatorSelection"].(map[string]any); sel["residentKey"] != tc.residentKey {
			t.Errorf("register begin %v: residentKey %v; want %s", tc.body, sel["residentKey"], tc.residentKey)
		}
	}
	// No token, or an MFA-pending-like garbage token: 401.
	assertProblem(t, e.Do(t, "POST", "/api/webauthn/register/begin", nil), http.StatusUnauthorized, "unauthorized")
	assertProblem(t, e.Do(t, "POST", "/api/webauthn/register/finish", map[string]any{}, testserver.Bearer("x.y.z")), http.StatusUnauthorized, "unauthorized")
}

// TestPasskeyRejected: every forged, replayed or misdirected finish is a
// 4xx problem and hands out no tokens (SECURITY rules 1–4, 7, 8).
func TestPasskeyRejected(t *testing.T) {
	e := testserver.New(t, testserver.Options{})
	_, a := testauthn.SignUp(t, e, "alice@example.com")
	bobSession, b := testauthn.SignUp(t, e, "bob@example.com")
	alice, bob := a.Credentials[0], b.Credentials[0]

	var challenges []string
	login := func(email string) testauthn.Ceremony {
		body := map[string]any{}
		if email != "" {
			body["email"] = email
		}
		c := testauthn.Begin(t, e, "/api/webauthn/login/begin", body)
		challenges = append(challenges, challengeOf(t, c.PublicKey))
		return c
	}
	get := func(auth *testauthn.Authenticator, c testauthn.Ceremony) []byte {
		t.Helper()
		resp, err := auth.Get(c.PublicKey)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}

	for _, tc := range []struct {
		name string
		// body returns the finish body; it may change a, which is restored
		// after.
		body   func(t *testing.T) any
		status int
		code   string
		// reason is a part of the logged verification failure, to show the
		// intended check refused it.
		reason string
	}{
		{"replayed ceremony id", func(t *testing.T) any {
			c := login("")
			body := testauthn.Finish(c.ID, get(a, c))
			testserver.SessionOf(t, e.Do(t, "POST", "/api/webauthn/login/finish", body))
			return body
		}, http.StatusGone, "used", ""},
		{"signature byte flipped", func(t *testing.T) any {
			c := login("")
			return testauthn.Finish(c.ID, editCredential(t, get(a, c), func(m map[string]any) {
				r := m["response"].(map[string]any)
				sig := unb64url(t, r["signature"])
				sig[len(sig)/2] ^= 0x01
				r["signature"] = b64url(sig)
			}))
		}, http.StatusBadRequest, "ceremony_failed", "signature"},
		{"clientDataJSON from https://evil.example", func(t *testing.T) any {
			c := login("")
			a.RP.Origin = "https://evil.example"
			return testauthn.Finish(c.ID, get(a, c))
		}, http.StatusBadRequest, "ceremony_failed", "origin"},
		{"clientDataJSON from another port", func(t *testing.T) any {
			c := login("")
			a.RP.Origin = "http://localhost:8081"
			return testauthn.Finish(c.ID, get(a, c))
		}, http.StatusBadRequest, "ceremony_failed", "origin"},
		{"crossOrigin true", func(t *testing.T) any {
			c := login("")
			return testauthn.Finish(c.ID, forgeAssertion(t, alice, "localhost", map[string]any{
				"type": "webauthn.get", "challenge": challengeOf(t, c.PublicKey), "origin": e.PublicURL,
				"crossOrigin": true, "topOrigin": "https://evil.example",
			}, 0x05, 0))
		}, http.StatusBadRequest, "ceremony_failed", "ross"},
		{"authData for another RP ID", func(t *testing.T) any {
			c := login("")
			a.RP.ID = "evil.example"
			return testauthn.Finish(c.ID, get(a, c))
		}, http.StatusBadRequest, "ceremony_failed", "RP Hash mismatch"},
		{"UP=0", func(t *testing.T) any {
			c := login("")
			a.Options.UserNotPresent = true
			return testauthn.Finish(c.ID, get(a, c))
		}, http.StatusBadRequest, "ceremony_failed", "User presence required"},
		{"challenge of another ceremony", func(t *testing.T) any {
			c, other := login(""), login("")
			return testauthn.Finish(c.ID, get(a, other))
		}, http.StatusBadRequest, "ceremony_failed", "challenge"},
		{"registration response sent to login/finish", func(t *testing.T) any {
			c := login("")
			reg, err := testauthn.New(e.PublicURL).Create(testauthn.Begin(t, e, "/api/webauthn/register/begin", nil, testserver.Bearer(bobSession.Access)).PublicKey)
			if err != nil {
				t.Fatal(err)
			}
			return testauthn.Finish(c.ID, reg)
		}, http.StatusBadRequest, "ceremony_failed", "unreadable assertion"},
		{"registration ceremony sent to login/finish", func(t *testing.T) any {
			c := testauthn.Begin(t, e, "/api/webauthn/register/begin", nil, testserver.Bearer(bobSession.Access))
			return testauthn.Finish(c.ID, get(b, login("")))
		}, http.StatusBadRequest, "ceremony_failed", "another type"},
		{"A's credential with B's userHandle", func(t *testing.T) any {
			c := login("")
			a.Options.UserHandle = bob.UserHandle
			return testauthn.Finish(c.ID, get(a, c))
		}, http.StatusBadRequest, "ceremony_failed", "Discoverable Credential"},
		{"empty userHandle", func(t *testing.T) any {
			c := login("")
			a.Options.OmitUserHandle = true
			return testauthn.Finish(c.ID, get(a, c))
		}, http.StatusBadRequest, "ceremony_failed", "blank User Handle"},
		{"B's credential for A's email-first ceremony", func(t *testing.T) any {
			c := login("alice@example.com")
			resp, _ := b.GetWith(c.PublicKey, bob)
			return testauthn.Finish(c.ID, resp)
		}, http.StatusBadRequest, "ceremony_failed", "another user"},
		{"finished after 301 s", func(t *testing.T) any {
			c := login("")
			resp := get(a, c)
			e.Clock.Advance(301 * time.Second)
			return testauthn.Finish(c.ID, resp)
		}, http.StatusGone, "expired", ""},
		{"unknown ceremony", func(t *testing.T) any {
			return testauthn.Finish("nope", get(a, login("")))
		}, http.StatusGone, "expired", ""},
		{"no ceremony id", func(t *testing.T) any {
			return map[string]any{"credential": json.RawMessage(get(a, login("")))}
		}, http.StatusBadRequest, "bad_request", ""},
		{"credential not an object", func(t *testing.T) any {
			return map[string]any{"ceremony_id": login("").ID, "credential": "abc"}
		}, http.StatusBadRequest, "bad_request", ""},
		{"credential garbage", func(t *testing.T) any {
			return map[string]any{"ceremony_id": login("").ID, "credential": map[string]any{"id": 1, "response": "x"}}
		}, http.StatusBadRequest, "ceremony_failed", "unreadable"},
		{"body not JSON", func(t *testing.T) any { return "{not json" }, http.StatusBadRequest, "bad_request", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			saved := *a
			defer func() { *a = saved }()
			before := len(e.Logs())
			body := tc.body(t)
			*a = saved
			r := e.Do(t, "POST", "/api/webauthn/login/finish", body)
			assertNoSession(t, r, tc.status, tc.code)
			if logs := e.Logs()[before:]; tc.reason != "" && !strings.Contains(logs, tc.reason) {
				t.Errorf("the log does not give the reason %q:\n%s", tc.reason, logs)
			}
		})
	}
	// No challenge or user handle reached the log (SECURITY rule 39).
	logs := e.Logs()
	for _, secret := range append(challenges, b64url(alice.UserHandle), b64url(bob.UserHandle)) {
		if strings.Contains(logs, secret) {
			t.Errorf("the log holds the secret %q", secret)
		}
	}
	// After all that, both still sign in.
	testauthn.SignIn(t, e, a, "")
	testauthn.SignIn(t, e, b, "bob@example.com")
}

// TestSignCounterBackwards: a security key whose counter goes back is
// refused and the possible clone is logged (SECURITY rule 8).
func TestSignCounterBackwards(t *testing.T) {
	e := testserver.New(t, testserver.Options{})
	s := e.SignIn(t, "carol@example.com")
	key := testauthn.New(e.PublicURL)
	key.Options.CountSignatures, key.Options.Attachment = true, "cross-platform"
	testauthn.Register(t, e, key, s.Access)
	testauthn.SignIn(t, e, key, "carol@example.com") // counter 1
	testauthn.SignIn(t, e, key, "")                  // counter 2
	key.Credentials[0].Counter = 0                   // the clone signs with 1
	c := testauthn.Begin(t, e, "/api/webauthn/login/begin", map[string]any{})
	resp, _ := key.Get(c.PublicKey)
	assertNoSession(t, e.Do(t, "POST", "/api/webauthn/login/finish", testauthn.Finish(c.ID, resp)), http.StatusBadRequest, "ceremony_failed")
	if !strings.Contains(e.Logs(), "possible cloned authenticator") {
		t.Error("no clone warning in the log")
	}
	// Audited under the user, naming the credential (SECURITY rules 8, 40).
	var clone, failed bool
	for _, ev := range auditOf(t, e, s.UserID) {
		if ev.CredentialID != key.Credentials[0].IDString() || ev.Result != sesame.ECeremonyFailed {
			continue
		}
		clone = clone || ev.Event == "possible_clone"
		failed = failed || ev.Event == "sign_in"
	}
	if !clone || !failed {
		t.Errorf("possible_clone audited %v, failed sign_in audited %v; want both under the user with the credential", clone, failed)
	}
}

// TestRegisterNeedsRecentSignIn: adding or removing a passkey needs an
// auth_time within 10 minutes (SECURITY rule 9); renaming does not.
func TestRegisterNeedsRecentSignIn(t *testing.T) {
	e := testserver.New(t, testserver.Options{})
	s, a := testauthn.SignUp(t, e, "dave@example.com")
	e.Clock.Advance(10*time.Minute + time.Second)
	r := e.Do(t, "POST", "/api/session/refresh", nil, testserver.Cookie("sesame_refresh", s.Refresh))
	old := testserver.SessionOf(t, r) // a fresh access token, the old auth_time
	assertProblem(t, e.Do(t, "POST", "/api/webauthn/register/begin", nil, testserver.Bearer(old.Access)), http.StatusForbidden, "reauth_required")
	path := "/api/me/credentials/" + a.Credentials[0].IDString()
	assertProblem(t, e.Do(t, "DELETE", path, nil, testserver.Bearer(old.Access)), http.StatusForbidden, "reauth_required")
	if r := e.Do(t, "PATCH", path, map[string]any{"name": "Phone"}, testserver.Bearer(old.Access)); r.Status != http.StatusOK {
		t.Fatalf("rename with an old sign-in = %d %s; want 200", r.Status, r.Body)
	}
	// Signing in again with the passkey makes it recent.
	fresh := testauthn.SignIn(t, e, a, "")
	testauthn.Register(t, e, testauthn.New(e.PublicURL), fresh.Access)
}

// TestSameCredentialTwice: one credential id registered for a second user
// (or again for the first) answers 409 (SECURITY rule 6).
func TestSameCredentialTwice(t *testing.T) {
	e := testserver.New(t, testserver.Options{})
	alice, a := testauthn.SignUp(t, e, "alice@example.com")
	bob := e.SignIn(t, "bob@example.com")
	for _, s := range []testserver.Session{bob, alice} {
		c := testauthn.Begin(t, e, "/api/webauthn/register/begin", nil, testserver.Bearer(s.Access))
		resp, err := a.CreateWith(c.PublicKey, a.Credentials[0])
		if err != nil {
			t.Fatal(err)
		}
		r := e.Do(t, "POST", "/api/webauthn/register/finish", testauthn.Finish(c.ID, resp), testserver.Bearer(s.Access))
		assertProblem(t, r, http.StatusConflict, "conflict")
	}
	// excludeCredentials lists alice's credential, so her authenticator
	// would not even make a second one.
	c := testauthn.Begin(t, e, "/api/webauthn/register/begin", nil, testserver.Bearer(alice.Access))
	if _, err := a.Create(c.PublicKey); err != testauthn.ErrExcluded {
		t.Fatalf("Create with the credential excluded = %v; want ErrExcluded", err)
	}
}

// TestUnknownEmailFakeCredentials: SECURITY rule 10 over HTTP.
func TestUnknownEmailFakeCredentials(t *testing.T) {
	e := testserver.New(t, testserver.Options{})
	_, a := testauthn.SignUp(t, e, "alice@example.com")
	allow := func(email string) []any {
		c := testauthn.Begin(t, e, "/api/webauthn/login/begin", map[string]any{"email": email})
		var o map[string]any
		if err := json.Unmarshal(c.PublicKey, &o); err != nil {
			t.Fatal(err)
		}
		list, _ := o["allowCredentials"].([]any)
		return list
	}
	one, two := allow("nobody@example.com"), allow("NOBODY@example.com")
	if len(one) == 0 || !slices.EqualFunc(one, two, func(x, y any) bool { return x.(map[string]any)["id"] == y.(map[string]any)["id"] }) {
		t.Fatalf("fake allowCredentials not stable: %v then %v", one, two)
	}
	for _, c := range one {
		m := c.(map[string]any)
		// Real records may carry no transports (clients that report none), so
		// fakes may not either; TestFakeAllowCredentialsLookReal compares the
		// shapes in full (rule 55).
		_, listed := m["transports"].([]any)
		if m["type"] != "public-key" || len(unb64url(t, m["id"])) < 16 || (m["transports"] != nil && !listed) {
			t.Errorf("fake credential %v is not shaped like a real one", m)
		}
	}
	if real := allow("alice@example.com"); len(real) != 1 || real[0].(map[string]any)["id"] != a.Credentials[0].IDString() {
		t.Errorf("alice's allowCredentials = %v", real)
	}
	assertProblem(t, e.Do(t, "POST", "/api/webauthn/login/begin", map[string]any{"email": "not an address"}), http.StatusBadRequest, "bad_request")
}

// TestLoginTicketTellsNothingOfTheAddress (SECURITY rules 10, 35, 55): an
// email-first begin's ceremony id is a sign-in ticket the client holds,
// so it must not tell an account from an address without one, by its
// length or by what it carries: never the account's id.
func TestLoginTicketTellsNothingOfTheAddress(t *testing.T) {
	e := testserver.New(t, testserver.Options{})
	alice, _ := testauthn.SignUp(t, e, "alice@example.com")
	bob, _ := testauthn.SignUp(t, e, "bob@example.com")
	ticket := func(email string) []byte {
		c := testauthn.Begin(t, e, "/api/webauthn/login/begin", map[string]any{"email": email})
		raw, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(c.ID, "l."))
		if err != nil || !strings.HasPrefix(c.ID, "l.") {
			t.Fatalf("ceremony id %q is not a sign-in ticket (%v)", c.ID, err)
		}
		return raw
	}
	unknown := ticket("nobody@example.com")
	for _, tc := range []struct {
		email, userID string
	}{
		{"alice@example.com", alice.UserID},
		{"bob@example.com", bob.UserID},
		{"nobody-else@example.com", ""},
	} {
		raw := ticket(tc.email)
		if len(raw) != len(unknown) {
			t.Errorf("%s: ticket of %d bytes, an unknown address's %d: the length tells them apart", tc.email, len(raw), len(unknown))
		}
		if tc.userID != "" && bytes.Contains(raw, []byte(tc.userID)) {
			t.Errorf("%s: the ticket carries the account's id %s in clear", tc.email, tc.userID)
		}
	}
}

func TestRenameAndRemovePasskey(t *testing.T) {
	e := testserver.New(t, testserver.Options{})
	s, a := testauthn.SignUp(t, e, "erin@example.com")
	other, _ := testauthn.SignUp(t, e, "frank@example.com")
	path := "/api/me/credentials/" + a.Credentials[0].IDString()

	r := e.Do(t, "PATCH", path, map[string]any{"name": " Work key "}, testserver.Bearer(s.Access))
	if r.Status != http.StatusOK || r.JSON(t)["credential"].(map[string]any)["name"] != "Work key" {
		t.Fatalf("rename = %d %s", r.Status, r.Body)
	}
	for _, tc := range []struct {
		path, access string
		body         any
		status       int
		code         string
	}{
		{path, s.Access, map[string]any{"name": ""}, 400, "bad_request"},
		{path, s.Access, map[string]any{}, 400, "bad_request"},
		{path, s.Access, map[string]any{"name": strings.Repeat("x", 65)}, 400, "bad_request"},
		{path, other.Access, map[string]any{"name": "Mine"}, 404, "not_found"},
		{"/api/me/credentials/AAAA", s.Access, map[string]any{"name": "x"}, 404, "not_found"},
		{"/api/me/credentials/%2B%2F", s.Access, map[string]any{"name": "x"}, 404, "not_found"},
	} {
		assertProblem(t, e.Do(t, "PATCH", tc.path, tc.body, testserver.Bearer(tc.access)), tc.status, tc.code)
	}
	assertProblem(t, e.Do(t, "DELETE", path, nil, testserver.Bearer(other.Access)), http.StatusNotFound, "not_found")
	if r := e.Do(t, "DELETE", path, nil, testserver.Bearer(s.Access)); r.Status != http.StatusNoContent {
		t.Fatalf("remove = %d %s", r.Status, r.Body)
	}
	assertProblem(t, e.Do(t, "DELETE", path, nil, testserver.Bearer(s.Access)), http.StatusNotFound, "not_found")
	if creds := e.Do(t, "GET", "/api/me", nil, testserver.Bearer(s.Access)).JSON(t)["credentials"].([]any); len(creds) != 0 {
		t.Errorf("/api/me credentials after removal = %v", creds)
	}
	// Signing in with the removed passkey fails, both ways.
	for _, email := range []string{"", "erin@example.com"} {
		c := testauthn.Begin(t, e, "/api/webauthn/login/begin", map[string]any{"email": email})
		resp, err := a.GetWith(c.PublicKey, a.Credentials[0])
		if err != nil {
			t.Fatal(err)
		}
		assertNoSession(t, e.Do(t, "POST", "/api/webauthn/login/finish", testauthn.Finish(c.ID, resp)), http.StatusBadRequest, "ceremony_failed")
	}
}

// TestPasskeyOnPostgres runs the main path end to end on PostgreSQL.
func TestPasskeyOnPostgres(t *testing.T) {
	e := testserver.New(t, testserver.Options{Postgres: true})
	s, a := testauthn.SignUp(t, e, "pat@example.com")
	a.Options.BackupEligible = true // refused: BE may not change
	c := testauthn.Begin(t, e, "/api/webauthn/login/begin", nil)
	resp, _ := a.Get(c.PublicKey)
	assertNoSession(t, e.Do(t, "POST", "/api/webauthn/login/finish", testauthn.Finish(c.ID, resp)), http.StatusBadRequest, "ceremony_failed")
	a.Options.BackupEligible = false
	for _, email := range []string{"", "pat@example.com"} {
		if got := testauthn.SignIn(t, e, a, email); got.UserID != s.UserID {
			t.Fatalf("sign-in as %s; want %s", got.UserID, s.UserID)
		}
	}
	c = testauthn.Begin(t, e, "/api/webauthn/login/begin", nil)
	resp, _ = a.Get(c.PublicKey)
	testserver.SessionOf(t, e.Do(t, "POST", "/api/webauthn/login/finish", testauthn.Finish(c.ID, resp)))
	assertNoSession(t, e.Do(t, "POST", "/api/webauthn/login/finish", testauthn.Finish(c.ID, resp)), http.StatusGone, "used")
}
