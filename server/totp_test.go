package server_test

import (
	"bytes"
	"context"
	"encoding/base32"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"

	"github.com/sesame-auth/sesame/internal/testserver"
)

// totpCode computes the RFC 6238 code of secret for the step holding at,
// straight from HOTP (RFC 4226) with the step counter: the test's own
// arithmetic, not the server's path.
func totpCode(t testing.TB, secret string, at time.Time) string {
	t.Helper()
	code, err := hotp.GenerateCodeCustom(secret, uint64(at.Unix()/30), hotp.ValidateOpts{Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		t.Fatal(err)
	}
	return code
}

// beginTOTP starts an enrolment and checks what the page is given.
func beginTOTP(t testing.TB, e *testserver.Env, s testserver.Session) (enrollmentID, secret string) {
	t.Helper()
	r := e.Do(t, "POST", "/api/me/totp/begin", nil, testserver.Bearer(s.Access))
	if r.Status != http.StatusOK {
		t.Fatalf("totp/begin = %d %s", r.Status, r.Body)
	}
	m := r.JSON(t)
	enrollmentID, _ = m["enrollment_id"].(string)
	secret, _ = m["secret"].(string)
	if raw, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(secret); err != nil || len(raw) < 20 {
		t.Fatalf("secret %q: %v (%d bytes)", secret, err, len(raw))
	}
	u, err := url.Parse(m["otpauth_uri"].(string))
	if err != nil || u.Scheme != "otpauth" || u.Host != "totp" {
		t.Fatalf("otpauth_uri %q: %v", m["otpauth_uri"], err)
	}
	q := u.Query()
	if q.Get("secret") != secret || q.Get("algorithm") != "SHA1" || q.Get("digits") != "6" || q.Get("period") != "30" || q.Get("issuer") == "" {
		t.Fatalf("otpauth_uri query = %v", q)
	}
	if svg, _ := m["qr_svg"].(string); !strings.HasPrefix(svg, "<svg") || !strings.Contains(svg, "<path") {
		t.Fatalf("qr_svg = %.80q", svg)
	}
	return enrollmentID, secret
}

func finishTOTP(t testing.TB, e *testserver.Env, s testserver.Session, enrollmentID, code string) testserver.Response {
	t.Helper()
	return e.Do(t, "POST", "/api/me/totp/finish", map[string]string{"enrollment_id": enrollmentID, "code": code}, testserver.Bearer(s.Access))
}

// setUpTOTP enrols an authenticator app for s and returns its secret.
func setUpTOTP(t testing.TB, e *testserver.Env, s testserver.Session) string {
	t.Helper()
	id, secret := beginTOTP(t, e, s)
	if r := finishTOTP(t, e, s, id, totpCode(t, secret, e.Clock.Now())); r.Status != http.StatusNoContent {
		t.Fatalf("totp/finish = %d %s", r.Status, r.Body)
	}
	return secret
}

func mfaTOTP(t testing.TB, e *testserver.Env, mfaToken, code string) testserver.Response {
	t.Helper()
	return e.Do(t, "POST", "/api/mfa/totp", map[string]string{"mfa_token": mfaToken, "code": code})
}

// TestTOTPEnrolment: confirmed by a first code, once, within 10 minutes;
// every refusal changes nothing. The secret is sealed at rest.
func TestTOTPEnrolment(t *testing.T) {
	onBothEngines(t, func(t *testing.T, e *testserver.Env) {
		s := e.SignIn(t, "tess@example.com")
		other := e.SignIn(t, "otto@example.com")
		id, secret := beginTOTP(t, e, s)
		now := e.Clock.Now()
		assertProblem(t, finishTOTP(t, e, s, id, "12345"), http.StatusBadRequest, "bad_request")
		assertProblem(t, finishTOTP(t, e, s, id, totpCode(t, secret, now.Add(-2*time.Minute))), http.StatusBadRequest, "invalid_code")
		// Another user cannot finish it, even with the right code.
		assertProblem(t, finishTOTP(t, e, other, id, totpCode(t, secret, now)), http.StatusGone, "expired")
		if me(t, e, s)["has_totp"] != false {
			t.Fatal("has_totp before finishing")
		}
		if r := finishTOTP(t, e, s, id, totpCode(t, secret, now)); r.Status != http.StatusNoContent {
			t.Fatalf("totp/finish = %d %s", r.Status, r.Body)
		}
		assertProblem(t, finishTOTP(t, e, s, id, totpCode(t, secret, now)), http.StatusGone, "used")
		if me(t, e, s)["has_totp"] != true {
			t.Fatal("has_totp is not true")
		}
		if me(t, e, other)["has_totp"] != false {
			t.Fatal("the other user has an app")
		}
		waitMail(t, e, "tess@example.com", "An authenticator app was added")
		sealed, _, err := e.App.DB.TOTPSecret(context.Background(), s.UserID)
		raw, _ := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(secret)
		if err != nil || bytes.Contains(sealed, []byte(secret)) || bytes.Contains(sealed, raw) {
			t.Fatalf("stored secret is not sealed (err %v)", err)
		}

		// After 10 minutes an enrolment is gone.
		id2, secret2 := beginTOTP(t, e, s)
		e.Clock.Advance(10*time.Minute + time.Second)
		s = testserver.SessionOf(t, e.Do(t, "POST", "/api/session/refresh", nil, testserver.Cookie("sesame_refresh", s.Refresh)))
		assertProblem(t, finishTOTP(t, e, s, id2, totpCode(t, secret2, e.Clock.Now())), http.StatusGone, "expired")
	})
}

// TestTOTPEnrolmentAttempts: five wrong codes end an enrolment.
func TestTOTPEnrolmentAttempts(t *testing.T) {
	e := testserver.New(t, testserver.Options{})
	s := e.SignIn(t, "ulla@example.com")
	id, secret := beginTOTP(t, e, s)
	for range 5 {
		assertProblem(t, finishTOTP(t, e, s, id, "000000"), http.StatusBadRequest, "invalid_code")
	}
	assertProblem(t, finishTOTP(t, e, s, id, totpCode(t, secret, e.Clock.Now())), http.StatusGone, "expired")
}

// TestTOTPSecondFactor: password then app code; each code once; one step
// of drift either way accepted, two refused.
func TestTOTPSecondFactor(t *testing.T) {
	onBothEngines(t, func(t *testing.T, e *testserver.Env) {
		// Start on a step boundary, so "now" and its neighbours are clear.
		e.Clock.Advance(time.Duration(30-e.Clock.Now().Unix()%30) * time.Second)
		s, cl := signUpWithPassword(t, e, "tom@example.com")
		secret := setUpTOTP(t, e, s) // spends the current step
		step := func(n int) string { return totpCode(t, secret, e.Clock.Now().Add(time.Duration(n)*30*time.Second)) }

		mfaToken, body := passwordLogin(t, e, cl)
		if methods := body["mfa_methods"].([]any); len(methods) != 2 || methods[1] != "totp" {
			t.Fatalf("mfa_methods = %v; want [email_otp totp]", methods)
		}
		// The code that finished the enrolment is spent: replayed within its
		// 30 s, it is refused.
		p := assertProblem(t, mfaTOTP(t, e, mfaToken, step(0)), http.StatusBadRequest, "invalid_code")
		if !strings.Contains(p["detail"].(string), "already used") {
			t.Errorf("replay detail = %q", p["detail"])
		}
		// Two steps away either way: refused.
		assertProblem(t, mfaTOTP(t, e, mfaToken, step(2)), http.StatusBadRequest, "invalid_code")
		assertProblem(t, mfaTOTP(t, e, mfaToken, step(-2)), http.StatusBadRequest, "invalid_code")
		// The next step: accepted.
		got := testserver.SessionOf(t, mfaTOTP(t, e, mfaToken, step(1)))
		if amrOf(got) != "pwd otp mfa" || got.UserID != s.UserID {
			t.Fatalf("amr %q user %q", amrOf(got), got.UserID)
		}
		// Replayed with a fresh token: refused.
		mfaToken, _ = passwordLogin(t, e, cl)
		assertProblem(t, mfaTOTP(t, e, mfaToken, step(1)), http.StatusBadRequest, "invalid_code")

		// Three steps later, the previous step's code: accepted.
		e.Clock.Advance(90 * time.Second)
		mfaToken, _ = passwordLogin(t, e, cl)
		testserver.SessionOf(t, mfaTOTP(t, e, mfaToken, step(-1)))
		// And now the current step is behind the last one used: refused.
		mfaToken, _ = passwordLogin(t, e, cl)
		assertProblem(t, mfaTOTP(t, e, mfaToken, step(-1)), http.StatusBadRequest, "invalid_code")
		assertProblem(t, mfaTOTP(t, e, mfaToken, "12a456"), http.StatusBadRequest, "bad_request")
	})
}

// TestTOTPFifthGuessCounts: an MFA token allows five guesses in all
// (rule 28): after four wrong codes the fifth, if right, signs in; after
// five wrong ones, the right code is refused.
func TestTOTPFifthGuessCounts(t *testing.T) {
	e := testserver.New(t, testserver.Options{})
	e.Clock.Advance(time.Duration(30-e.Clock.Now().Unix()%30) * time.Second)
	s, cl := signUpWithPassword(t, e, "fifth@example.com")
	secret := setUpTOTP(t, e, s) // spends the current step
	step := func(n int) string { return totpCode(t, secret, e.Clock.Now().Add(time.Duration(n)*30*time.Second)) }
	for _, wrong := range []int{4, 5} {
		mfaToken, _ := passwordLogin(t, e, cl)
		for i := 1; i <= wrong; i++ {
			p := assertProblem(t, mfaTOTP(t, e, mfaToken, step(3)), http.StatusBadRequest, "invalid_code")
			if left := p["attempts_left"]; left != float64(5-i) {
				t.Fatalf("wrong code %d: attempts_left %v; want %d", i, left, 5-i)
			}
		}
		r := mfaTOTP(t, e, mfaToken, step(1))
		if wrong == 4 {
			testserver.SessionOf(t, r)
			e.Clock.Advance(30 * time.Second) // the next login needs a step not yet used
			continue
		}
		if r.Status == http.StatusOK {
			t.Fatalf("the right code after five wrong ones signed in")
		}
	}
}

// TestTOTPCodeSpentOnce: one code sent ten times at once, with ten tokens,
// signs in once.
func TestTOTPCodeSpentOnce(t *testing.T) {
	e := testserver.New(t, testserver.Options{})
	s, cl := signUpWithPassword(t, e, "tina@example.com")
	secret := setUpTOTP(t, e, s)
	code := totpCode(t, secret, e.Clock.Now().Add(30*time.Second))
	tokens := make([]string, 10)
	for i := range tokens {
		tokens[i], _ = passwordLogin(t, e, cl)
	}
	results := make(chan int, len(tokens))
	for _, tok := range tokens {
		go func() { results <- mfaTOTP(t, e, tok, code).Status }()
	}
	ok := 0
	for range tokens {
		if <-results == http.StatusOK {
			ok++
		}
	}
	if ok != 1 {
		t.Fatalf("%d sign-ins with one code; want 1", ok)
	}
}

// TestTOTPRemove: needs a recent sign-in; then the app is gone from
// /api/me and from the second-factor choices, and the user is told.
func TestTOTPRemove(t *testing.T) {
	e := testserver.New(t, testserver.Options{})
	s, cl := signUpWithPassword(t, e, "tara@example.com")
	setUpTOTP(t, e, s)
	old := stale(t, e, s)
	assertProblem(t, e.Do(t, "DELETE", "/api/me/totp", nil, testserver.Bearer(old.Access)), http.StatusForbidden, "reauth_required")
	assertProblem(t, e.Do(t, "POST", "/api/me/totp/begin", nil, testserver.Bearer(old.Access)), http.StatusForbidden, "reauth_required")
	fresh := e.SignIn(t, "tara@example.com")
	if r := e.Do(t, "DELETE", "/api/me/totp", nil, testserver.Bearer(fresh.Access)); r.Status != http.StatusNoContent {
		t.Fatalf("DELETE totp = %d %s", r.Status, r.Body)
	}
	if me(t, e, fresh)["has_totp"] != false {
		t.Fatal("has_totp after removal")
	}
	waitMail(t, e, "tara@example.com", "authenticator app was removed")
	_, body := passwordLogin(t, e, cl)
	for _, m := range body["mfa_methods"].([]any) {
		if m == "totp" {
			t.Fatalf("mfa_methods = %v after removal", body["mfa_methods"])
		}
	}
	// The other sessions ended with the factor (SECURITY rule 32).
	if r := e.Do(t, "POST", "/api/session/refresh", nil, testserver.Cookie("sesame_refresh", old.Refresh)); r.Status != http.StatusUnauthorized {
		t.Fatalf("refresh of another session after removal = %d", r.Status)
	}
}
