package server_test

import (
	"bytes"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sesame-auth/sesame/internal/testserver"
)

var recoveryCodeFormat = regexp.MustCompile(`^[0-9abcdefghjkmnpqrstvwxyz]{5}-[0-9abcdefghjkmnpqrstvwxyz]{5}$`)

func recoverySignIn(t testing.TB, e *testserver.Env, email, code string) testserver.Response {
	t.Helper()
	return e.Do(t, "POST", "/api/recovery/signin", map[string]string{"email": email, "code": code})
}

// TestRecoveryCodes: ten well-formed distinct codes, shown once; each signs
// in once with amr ["otp"]; a new set replaces the old; using one is
// counted on /api/me, audited and mailed.
func TestRecoveryCodes(t *testing.T) {
	onBothEngines(t, func(t *testing.T, e *testserver.Env) {
		s := e.SignIn(t, "rita@example.com")
		if left := me(t, e, s)["recovery_codes_left"]; left != float64(0) {
			t.Fatalf("recovery_codes_left before any = %v; want 0", left)
		}
		old := makeRecoveryCodes(t, e, s)
		codes := makeRecoveryCodes(t, e, s)
		seen := map[string]bool{}
		for _, c := range codes {
			if !recoveryCodeFormat.MatchString(c) || seen[c] {
				t.Fatalf("code %q: malformed or repeated in %v", c, codes)
			}
			seen[c] = true
		}
		if len(codes) != 10 {
			t.Fatalf("%d codes; want 10", len(codes))
		}
		waitMail(t, e, "rita@example.com", "New recovery codes")
		assertProblem(t, recoverySignIn(t, e, "rita@example.com", old[0]), http.StatusUnauthorized, "invalid_credentials")

		got := testserver.SessionOf(t, recoverySignIn(t, e, "RITA@example.com", codes[3]))
		if got.UserID != s.UserID || amrOf(got) != "otp" {
			t.Fatalf("recovery sign-in: user %q amr %q; want %q, otp", got.UserID, amrOf(got), s.UserID)
		}
		waitMail(t, e, "rita@example.com", "A recovery code was used")
		if !activityHas(t, e, got, "recovery_code_used") {
			t.Error("the recovery code's use is not in the activity log")
		}
		// Used twice: refused like any wrong code. Typed loosely, it is the
		// same code.
		loose := " " + string(bytes.ToUpper([]byte(codes[3][:5]))) + codes[3][6:] + " "
		assertProblem(t, recoverySignIn(t, e, "rita@example.com", loose), http.StatusUnauthorized, "invalid_credentials")
		if left := me(t, e, got)["recovery_codes_left"]; left != float64(9) {
			t.Fatalf("recovery_codes_left = %v; want 9", left)
		}
		// Codes are shorter than what testserver searches the log for by
		// itself (SECURITY rule 39): look for every one here.
		logs := e.Logs()
		for _, c := range append(old, codes...) {
			if strings.Contains(logs, c) || strings.Contains(logs, strings.ReplaceAll(c, "-", "")) {
				t.Errorf("recovery code %.3s… is in the server log", c)
			}
		}
	})
}

// TestRecoveryCodeOfAnotherAccount: codes are bound to their account.
func TestRecoveryCodeOfAnotherAccount(t *testing.T) {
	e := testserver.New(t, testserver.Options{})
	mallory := e.SignIn(t, "mallory@example.com")
	e.SignIn(t, "victor@example.com")
	codes := makeRecoveryCodes(t, e, mallory)
	assertProblem(t, recoverySignIn(t, e, "victor@example.com", codes[0]), http.StatusUnauthorized, "invalid_credentials")
	// And the code still works for its owner: the failed try spent nothing.
	testserver.SessionOf(t, recoverySignIn(t, e, "mallory@example.com", codes[0]))
}

// TestRecoveryBadInput: every malformed request is a 400 problem that
// spends no code.
func TestRecoveryBadInput(t *testing.T) {
	e := testserver.New(t, testserver.Options{})
	s := e.SignIn(t, "sam@example.com")
	codes := makeRecoveryCodes(t, e, s)
	for _, c := range []struct{ name, email, code string }{
		{"empty code", "sam@example.com", ""},
		{"too short", "sam@example.com", "abcd-efgh"},
		{"not the alphabet", "sam@example.com", "abcde-fghu!"},
		{"too long", "sam@example.com", codes[0] + "x"},
		{"malformed address", "sam", codes[0]},
		{"IP-literal address", "sam@[127.0.0.1]", codes[0]},
	} {
		t.Run(c.name, func(t *testing.T) {
			assertProblem(t, recoverySignIn(t, e, c.email, c.code), http.StatusBadRequest, "bad_request")
		})
	}
	if left := me(t, e, s)["recovery_codes_left"]; left != float64(10) {
		t.Fatalf("recovery_codes_left = %v; want 10", left)
	}
}

// TestRecoverySignInUnknownAddress: an address without an account gets the
// very same answer as a wrong code for a real one (SECURITY rule 35).
func TestRecoverySignInUnknownAddress(t *testing.T) {
	e := testserver.New(t, testserver.Options{})
	s := e.SignIn(t, "una@example.com")
	makeRecoveryCodes(t, e, s)
	known := recoverySignIn(t, e, "una@example.com", "aaaaa-bbbbb")
	unknown := recoverySignIn(t, e, "nobody@example.com", "aaaaa-bbbbb")
	if known.Status != unknown.Status || !bytes.Equal(known.Body, unknown.Body) {
		t.Fatalf("known: %d %s\nunknown: %d %s", known.Status, known.Body, unknown.Status, unknown.Body)
	}
	assertProblem(t, unknown, http.StatusUnauthorized, "invalid_credentials")
}

// TestRecoveryEleventhGuess: ten wrong codes for an address, then even the
// right code waits (the password tarpit's rules, shared with passwords).
func TestRecoveryEleventhGuess(t *testing.T) {
	e := testserver.New(t, testserver.Options{TrustProxy: true})
	s := e.SignIn(t, "greta@example.com")
	codes := makeRecoveryCodes(t, e, s)
	for i := range 10 {
		// From ten IPs, so only the per-address count acts.
		r := e.Do(t, "POST", "/api/recovery/signin", map[string]string{"email": "greta@example.com", "code": "zzzzz-zzzz" + string(rune('0'+i))},
			testserver.H("X-Forwarded-For", "192.0.2."+strconv.Itoa(i+1)))
		assertProblem(t, r, http.StatusUnauthorized, "invalid_credentials")
	}
	r := recoverySignIn(t, e, "greta@example.com", codes[0])
	assertProblem(t, r, http.StatusTooManyRequests, "rate_limited")
	if r.Header.Get("Retry-After") != "30" {
		t.Errorf("Retry-After = %q; want 30", r.Header.Get("Retry-After"))
	}
	e.Clock.Advance(31 * time.Second)
	testserver.SessionOf(t, recoverySignIn(t, e, "greta@example.com", codes[0]))
}

// TestRecoverySignInLimitedPerIP: one client gets 30 tries an hour, whatever
// the addresses.
func TestRecoverySignInLimitedPerIP(t *testing.T) {
	e := testserver.New(t, testserver.Options{})
	for i := range 30 {
		r := recoverySignIn(t, e, "user"+string(rune('a'+i%26))+string(rune('a'+i/26))+"@example.com", "aaaaa-bbbbb")
		assertProblem(t, r, http.StatusUnauthorized, "invalid_credentials")
	}
	assertProblem(t, recoverySignIn(t, e, "last@example.com", "aaaaa-bbbbb"), http.StatusTooManyRequests, "rate_limited")
}

// TestRecoveryCodeSpentOnce: the same code sent twenty times at once signs
// in exactly once.
func TestRecoveryCodeSpentOnce(t *testing.T) {
	onBothEngines(t, func(t *testing.T, e *testserver.Env) {
		s := e.SignIn(t, "olga@example.com")
		code := makeRecoveryCodes(t, e, s)[0]
		var wg sync.WaitGroup
		var mu sync.Mutex
		statuses := map[int]int{}
		for range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := recoverySignIn(t, e, "olga@example.com", code)
				mu.Lock()
				statuses[r.Status]++
				mu.Unlock()
			}()
		}
		wg.Wait()
		// The losers are refused; once ten have failed, the tarpit answers.
		if statuses[http.StatusOK] != 1 || statuses[http.StatusUnauthorized]+statuses[http.StatusTooManyRequests] != 19 {
			t.Fatalf("statuses = %v; want one 200 and nineteen 401 or 429", statuses)
		}
	})
}

// TestRecoveryCodesNeedRecentSignIn: making codes is account-changing.
func TestRecoveryCodesNeedRecentSignIn(t *testing.T) {
	e := testserver.New(t, testserver.Options{})
	s := e.SignIn(t, "paul@example.com")
	s = stale(t, e, s)
	assertProblem(t, e.Do(t, "POST", "/api/me/recovery-codes", nil, testserver.Bearer(s.Access)), http.StatusForbidden, "reauth_required")
}

// TestRecoveryCodeAsSecondFactor: after a password, a recovery code
// completes the sign-in with amr pwd otp mfa; wrong codes count down the
// token's five attempts.
func TestRecoveryCodeAsSecondFactor(t *testing.T) {
	onBothEngines(t, func(t *testing.T, e *testserver.Env) {
		s, cl := signUpWithPassword(t, e, "quinn@example.com")
		mfaToken, body := passwordLogin(t, e, cl)
		if methods := body["mfa_methods"].([]any); len(methods) != 1 {
			t.Fatalf("mfa_methods without codes = %v; want [email_otp]", methods)
		}
		codes := makeRecoveryCodes(t, e, s)
		mfaToken, body = passwordLogin(t, e, cl)
		if methods := body["mfa_methods"].([]any); len(methods) != 2 || methods[1] != "recovery_code" {
			t.Fatalf("mfa_methods = %v; want [email_otp recovery_code]", methods)
		}
		// A malformed code is refused before it counts as a guess.
		assertProblem(t, e.Do(t, "POST", "/api/mfa/recovery", map[string]string{"mfa_token": mfaToken, "code": "aaaaa-bbbbu"}), http.StatusBadRequest, "bad_request")
		p := assertProblem(t, e.Do(t, "POST", "/api/mfa/recovery", map[string]string{"mfa_token": mfaToken, "code": "aaaaa-bbbbb"}), http.StatusBadRequest, "invalid_code")
		if p["attempts_left"] != float64(4) {
			t.Errorf("attempts_left = %v; want 4", p["attempts_left"])
		}
		got := testserver.SessionOf(t, e.Do(t, "POST", "/api/mfa/recovery", map[string]string{"mfa_token": mfaToken, "code": codes[1]}))
		if amrOf(got) != "pwd otp mfa" {
			t.Fatalf("amr = %q; want pwd otp mfa", amrOf(got))
		}
		waitMail(t, e, "quinn@example.com", "A recovery code was used")
		// The token produced its session; the code is spent.
		assertProblem(t, e.Do(t, "POST", "/api/mfa/recovery", map[string]string{"mfa_token": mfaToken, "code": codes[2]}), http.StatusUnauthorized, "unauthorized")
		next, _ := passwordLogin(t, e, cl)
		assertProblem(t, e.Do(t, "POST", "/api/mfa/recovery", map[string]string{"mfa_token": next, "code": codes[1]}), http.StatusBadRequest, "invalid_code")
	})
}

// TestMFACodeSixthGuessFails: five wrong recovery codes end the MFA token;
// the sixth try fails even with a right code.
func TestMFACodeSixthGuessFails(t *testing.T) {
	e := testserver.New(t, testserver.Options{})
	s, cl := signUpWithPassword(t, e, "yuki@example.com")
	codes := makeRecoveryCodes(t, e, s)
	mfaToken, _ := passwordLogin(t, e, cl)
	for i := range 5 {
		p := assertProblem(t, e.Do(t, "POST", "/api/mfa/recovery", map[string]string{"mfa_token": mfaToken, "code": "aaaaa-bbbb" + string(rune('0'+i))}), http.StatusBadRequest, "invalid_code")
		if p["attempts_left"] != float64(4-i) {
			t.Fatalf("attempt %d: attempts_left = %v; want %d", i+1, p["attempts_left"], 4-i)
		}
	}
	assertProblem(t, e.Do(t, "POST", "/api/mfa/recovery", map[string]string{"mfa_token": mfaToken, "code": codes[0]}), http.StatusUnauthorized, "unauthorized")
	// Dead for the emailed code too.
	assertProblem(t, e.Do(t, "POST", "/api/mfa/email/send", map[string]string{"mfa_token": mfaToken}), http.StatusUnauthorized, "unauthorized")
}
