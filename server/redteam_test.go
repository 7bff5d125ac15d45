package server_test

// Tests of the findings of the hostile review (issue 11; SECURITY rules
// 53–60). Each one replays the attack over HTTP against the real server.

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xdg-go/scram"

	"github.com/sesame-auth/sesame/internal/testauthn"
	"github.com/sesame-auth/sesame/internal/testserver"
	"github.com/sesame-auth/sesame/internal/testsmtp"
)

// engines runs f on SQLite and, when it is configured, on PostgreSQL.
func engines(t *testing.T, opts testserver.Options, f func(t *testing.T, e *testserver.Env)) {
	for _, pg := range []bool{false, true} {
		t.Run(map[bool]string{false: "sqlite", true: "postgres"}[pg], func(t *testing.T) {
			o := opts
			o.Postgres = pg
			f(t, testserver.New(t, o))
		})
	}
}

// TestParallelPasswordLoginsGetNoMoreGuesses is finding 2 (rule 53): 25
// logins begun together and finished together with a wrong password get
// at most the 10 free failures; the rest are refused with 429. A login
// with the right password begun before that does not succeed afterwards.
func TestParallelPasswordLoginsGetNoMoreGuesses(t *testing.T) {
	engines(t, testserver.Options{}, func(t *testing.T, e *testserver.Env) {
		_, right := signUpWithPassword(t, e, "alice@example.com")
		_, earlyID, earlyFinal := scramBegin(t, e, right)
		wrong, err := scram.SHA256.NewClient("alice@example.com", "not the password", "")
		if err != nil {
			t.Fatal(err)
		}
		type login struct{ id, final string }
		logins := make([]login, 25)
		begun := make([]int, 25)
		var wg sync.WaitGroup
		for i := range logins {
			wg.Add(1)
			go func() {
				defer wg.Done()
				conv := wrong.NewConversation()
				first, _ := conv.Step("")
				r := e.Do(t, "POST", "/api/password/login/begin", map[string]string{"client_first": first})
				if begun[i] = r.Status; r.Status != http.StatusOK {
					return
				}
				m := r.JSON(t)
				final, err := conv.Step(m["server_first"].(string))
				if err != nil {
					return
				}
				logins[i] = login{m["login_id"].(string), final}
			}()
		}
		wg.Wait()
		statuses := make([]int, 25)
		for i, l := range logins {
			if l.id == "" {
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				statuses[i] = scramFinish(t, e, l.id, l.final).Status
			}()
		}
		wg.Wait()
		processed, limited := 0, 0
		for i, st := range statuses {
			switch {
			case begun[i] == http.StatusTooManyRequests:
				limited++
			case st == http.StatusUnauthorized:
				processed++
			case st == http.StatusTooManyRequests:
				limited++
			default:
				t.Errorf("login %d: begin %d, finish %d; want 401 or 429", i, begun[i], st)
			}
		}
		if processed > 10 || processed+limited != 25 {
			t.Fatalf("%d wrong passwords checked, %d refused with 429; want at most 10 checked, the rest refused", processed, limited)
		}
		// The login begun before the tarpit closed is checked at finish too.
		assertProblem(t, scramFinish(t, e, earlyID, earlyFinal), http.StatusTooManyRequests, "rate_limited")
	})
}

// TestFinishFloodIsBounded is finding 3 (rule 54), in a few seconds: a
// client floods the unauthenticated finish endpoints with 15 KB user
// agents. The per-IP limits cap the audit rows, the stored and logged user
// agents are cut to 256 bytes, and audit rows go after their retention.
func TestFinishFloodIsBounded(t *testing.T) {
	e := testserver.New(t, testserver.Options{TrustProxy: true})
	ctx := context.Background()
	ua := testserver.H("User-Agent", strings.Repeat("Mozilla/5.0 (flood) ", 750)) // 15 KB
	ip := testserver.H("X-Forwarded-For", "203.0.113.9")
	logBefore := len(e.Logs())
	const rounds = 300
	limited := map[string]int{}
	for i := range rounds {
		for _, req := range []struct{ path, body string }{
			{"/api/webauthn/login/finish", fmt.Sprintf(`{"ceremony_id":"c%d","credential":{"id":"x"}}`, i)},
			{"/api/password/login/finish", fmt.Sprintf(`{"login_id":"l%d","client_final":"c=biws,r=abcdefghijklmnopqrstuvwxyz0123456789,p=%s"}`, i,
				"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")},
		} {
			r := e.Do(t, "POST", req.path, req.body, ua, ip)
			switch {
			case r.Status >= 500:
				t.Fatalf("%s: %d %s", req.path, r.Status, r.Body)
			case r.Status == http.StatusTooManyRequests:
				limited[req.path]++
			}
		}
	}
	for _, path := range []string{"/api/webauthn/login/finish", "/api/password/login/finish"} {
		if limited[path] == 0 {
			t.Errorf("%s: %d requests from one IP, none limited", path, rounds)
		}
	}
	rows, err := e.App.DB.TableRows(ctx, "audit_events")
	if err != nil {
		t.Fatal(err)
	}
	if max := 2*rounds - limited["/api/webauthn/login/finish"] - limited["/api/password/login/finish"]; rows > max || rows > 200 {
		t.Errorf("%d audit rows after %d requests; want one per request that got past the limits (%d), at most 200", rows, 2*rounds, max)
	}
	events, err := e.App.DB.AuditEvents(ctx, "", 1000)
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range events {
		if len(ev.UserAgent) > 256 {
			t.Fatalf("an audit row stores a %d-byte user agent; want at most 256", len(ev.UserAgent))
		}
	}
	t.Logf("%d requests from one IP: %d limited, %d audit rows, log grew %d bytes", 2*rounds,
		limited["/api/webauthn/login/finish"]+limited["/api/password/login/finish"], rows, len(e.Logs())-logBefore)
	if grown := len(e.Logs()) - logBefore; grown/(2*rounds) > 1024 {
		t.Errorf("the log grew by %d bytes over %d requests (%d per request); want under 1 KiB each", grown, 2*rounds, grown/(2*rounds))
	}
	// Another client is still served.
	if r := e.Do(t, "POST", "/api/webauthn/login/finish", `{"ceremony_id":"c","credential":{"id":"x"}}`,
		testserver.H("X-Forwarded-For", "198.51.100.7")); r.Status == http.StatusTooManyRequests {
		t.Fatalf("another client was limited: %d", r.Status)
	}
	// Audit rows live 400 days by default; the sweeper removes them after.
	if _, _, err := e.App.DB.SweepExpired(ctx, e.Clock.Now().Add(399*24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if n, _ := e.App.DB.TableRows(ctx, "audit_events"); n != rows+1 {
		t.Errorf("%d audit rows after sweeping at 399 days; want all %d kept", n, rows+1)
	}
	if _, _, err := e.App.DB.SweepExpired(ctx, e.Clock.Now().Add(401*24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if n, _ := e.App.DB.TableRows(ctx, "audit_events"); n != 0 {
		t.Errorf("%d audit rows after sweeping at 401 days; want none", n)
	}
}

// TestMFAEmailVerifyLimitedPerIP is finding 6 (rule 34): second-factor
// code guesses share the per-IP code limit with sign-in codes.
func TestMFAEmailVerifyLimitedPerIP(t *testing.T) {
	e := testserver.New(t, testserver.Options{})
	for i := 0; ; i++ {
		r := e.Do(t, "POST", "/api/email/verify", map[string]string{"flow_id": fmt.Sprint("flow", i), "code": "123456"})
		if r.Status == http.StatusTooManyRequests {
			break
		}
		if i > 1000 {
			t.Fatal("no per-IP limit on /api/email/verify")
		}
	}
	r := e.Do(t, "POST", "/api/mfa/email/verify", map[string]string{"mfa_token": "x.y.z", "code": "123456"})
	assertProblem(t, r, http.StatusTooManyRequests, "rate_limited")
}

// TestDevOutboxOnlyOnLoopback is finding 8 (rule 58): a page on any site
// that rebinds its own name to 127.0.0.1 reaches the developer's server
// with its own Host header; the outbox answers only when both the peer
// and the Host header are loopback.
func TestDevOutboxOnlyOnLoopback(t *testing.T) {
	e := testserver.New(t, testserver.Options{Listen: true, Outbox: true})
	port := strings.TrimPrefix(e.BaseURL, "http://localhost:")
	get := func(host string) int {
		t.Helper()
		req, err := http.NewRequest("GET", "http://127.0.0.1:"+port+"/dev/outbox", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Host = host
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	for _, host := range []string{"localhost:" + port, "127.0.0.1:" + port, "[::1]:" + port, "localhost"} {
		if st := get(host); st != http.StatusOK {
			t.Errorf("Host %q from 127.0.0.1: %d; want 200", host, st)
		}
	}
	for _, host := range []string{"evil.example", "evil.example:" + port, "localhost.evil.example:" + port, "127.0.0.1.nip.io:" + port, "attacker.localhost:" + port} {
		if st := get(host); st != http.StatusNotFound {
			t.Errorf("Host %q from 127.0.0.1: %d; want 404", host, st)
		}
	}
	// A peer that is not loopback (app.Test's connection is from 0.0.0.0).
	if r := e.Do(t, "GET", "/dev/outbox", nil, testserver.H("Host", "localhost:"+port)); r.Status != http.StatusNotFound {
		t.Errorf("Host localhost from a non-loopback peer: %d; want 404", r.Status)
	}
}

// TestWebAuthnOriginsComparedExactly is finding 9 (rules 2, 58): an origin
// that only normalises to ours (upper case, a trailing slash, a path, a
// user) is refused, at registration and at sign-in.
func TestWebAuthnOriginsComparedExactly(t *testing.T) {
	e := testserver.New(t, testserver.Options{})
	s, a := testauthn.SignUp(t, e, "alice@example.com")
	host := strings.TrimPrefix(e.PublicURL, "http://")
	for _, origin := range []string{
		"HTTP://LOCALHOST:" + strings.TrimPrefix(host, "localhost:"),
		"http://LOCALHOST:" + strings.TrimPrefix(host, "localhost:"),
		e.PublicURL + "/",
		e.PublicURL + "/signin",
		"http://user@" + host,
		e.PublicURL + "?x=1",
	} {
		a.RP.Origin = origin
		c := testauthn.Begin(t, e, "/api/webauthn/login/begin", map[string]any{})
		resp, err := a.Get(c.PublicKey)
		if err != nil {
			t.Fatal(err)
		}
		assertNoSession(t, e.Do(t, "POST", "/api/webauthn/login/finish", testauthn.Finish(c.ID, resp)), http.StatusBadRequest, "ceremony_failed")
		c = testauthn.Begin(t, e, "/api/webauthn/register/begin", map[string]any{}, testserver.Bearer(s.Access))
		fresh := testauthn.New(e.PublicURL)
		fresh.RP.Origin = origin
		if resp, err = fresh.Create(c.PublicKey); err != nil {
			t.Fatal(err)
		}
		r := e.Do(t, "POST", "/api/webauthn/register/finish", testauthn.Finish(c.ID, resp), testserver.Bearer(s.Access))
		assertProblem(t, r, http.StatusBadRequest, "ceremony_failed")
	}
	a.RP.Origin = e.PublicURL
	testauthn.SignIn(t, e, a, "")
	if n := len(e.Do(t, "GET", "/api/me", nil, testserver.Bearer(s.Access)).JSON(t)["credentials"].([]any)); n != 1 {
		t.Fatalf("%d credentials; want only the first", n)
	}
}

// TestRegistrationWithClientExtensionOutputs is finding 13 (rule 60):
// registration asks for credProps and records rk; outputs nobody asked
// for are ignored, at registration and at sign-in.
func TestRegistrationWithClientExtensionOutputs(t *testing.T) {
	e := testserver.New(t, testserver.Options{})
	s := e.SignIn(t, "alice@example.com")
	var a *testauthn.Authenticator
	register := func(outputs map[string]any) testserver.Response {
		c := testauthn.Begin(t, e, "/api/webauthn/register/begin", map[string]any{}, testserver.Bearer(s.Access))
		var opts struct {
			Extensions map[string]any `json:"extensions"`
		}
		if err := json.Unmarshal(c.PublicKey, &opts); err != nil || opts.Extensions["credProps"] != true {
			t.Fatalf("registration options ask for extensions %v; want credProps: true", opts.Extensions)
		}
		fresh := testauthn.New(e.PublicURL)
		if a == nil {
			a = fresh
		}
		resp, err := fresh.Create(c.PublicKey)
		if err != nil {
			t.Fatal(err)
		}
		resp = editCredential(t, resp, func(m map[string]any) { m["clientExtensionResults"] = outputs })
		return e.Do(t, "POST", "/api/webauthn/register/finish", testauthn.Finish(c.ID, resp), testserver.Bearer(s.Access))
	}
	r := register(map[string]any{"credProps": map[string]any{"rk": true}})
	if r.Status != http.StatusCreated {
		t.Fatalf("credProps output: %d %s; want 201", r.Status, r.Body)
	}
	if d := r.JSON(t)["credential"].(map[string]any)["discoverable"]; d != true {
		t.Errorf("discoverable = %v; want true (credProps.rk)", d)
	}
	r = register(map[string]any{"credProps": map[string]any{"rk": false}, "hmacCreateSecret": true, "somethingElse": map[string]any{"x": 1}})
	if r.Status != http.StatusCreated {
		t.Fatalf("unrequested outputs: %d %s; want 201", r.Status, r.Body)
	}
	if d := r.JSON(t)["credential"].(map[string]any)["discoverable"]; d != false {
		t.Errorf("discoverable = %v; want false (credProps.rk)", d)
	}
	if r = register(map[string]any{}); r.Status != http.StatusCreated || r.JSON(t)["credential"].(map[string]any)["discoverable"] != nil {
		t.Fatalf("no outputs: %d %s; want 201 and discoverable null (unknown)", r.Status, r.Body)
	}
	c := testauthn.Begin(t, e, "/api/webauthn/login/begin", map[string]any{})
	resp, err := a.Get(c.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	resp = editCredential(t, resp, func(m map[string]any) { m["clientExtensionResults"] = map[string]any{"somethingElse": true} })
	testserver.SessionOf(t, e.Do(t, "POST", "/api/webauthn/login/finish", testauthn.Finish(c.ID, resp)))
}

// TestIdleConnectionsClosedSilently is finding 12 (rule 58): a connection
// a client's pool opened ahead of use, or left idle between requests, is
// closed without a word; an unsolicited "400 The request took too long"
// would be read as the answer to the next request sent on it.
func TestIdleConnectionsClosedSilently(t *testing.T) {
	e := testserver.New(t, testserver.Options{Listen: true, ReadTimeout: time.Second})
	addr := "127.0.0.1:" + strings.TrimPrefix(e.BaseURL, "http://localhost:")
	readAll := func(c net.Conn) string {
		t.Helper()
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		b, err := io.ReadAll(c)
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Fatalf("the server kept an idle connection open past its timeout (read %q)", b)
		}
		return string(b)
	}
	// Before the first request.
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if got := readAll(c); got != "" {
		t.Fatalf("a connection that sent nothing was sent %q; want it closed silently", got)
	}
	// Between requests.
	c2, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if _, err := io.WriteString(c2, "GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	res, err := http.ReadResponse(bufio.NewReader(io.LimitReader(c2, 4096)), nil)
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("healthz: %v %v", res, err)
	}
	_, _ = io.Copy(io.Discard, res.Body)
	if got := readAll(c2); got != "" {
		t.Fatalf("an idle keep-alive connection was sent %q; want it closed silently", got)
	}
}

// noticesTo waits until the mail outbox has sent everything queued, then
// counts the messages to whose subject or text holds about.
func noticesTo(t *testing.T, e *testserver.Env, to, about string) int {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		out, err := e.App.DB.MailOutcomes(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if out["queued"] == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("mail still queued: %v", out)
		}
		time.Sleep(20 * time.Millisecond)
	}
	n := 0
	for _, m := range e.SMTP.Messages() {
		if strings.Contains(strings.Join(m.To, ","), to) && strings.Contains(strings.ToLower(m.Subject+m.Text), about) {
			n++
		}
	}
	return n
}

// TestNoticeMailsBounded is finding 7 (rule 57): replaying a spent
// refresh token again and again sends one notice for its session family,
// and no user gets more than 5 notices an hour however they are caused.
func TestNoticeMailsBounded(t *testing.T) {
	engines(t, testserver.Options{}, func(t *testing.T, e *testserver.Env) {
		s := e.SignIn(t, "alice@example.com")
		testserver.SessionOf(t, refresh(e, t, s.Refresh))
		for range 10 {
			assertProblem(t, refresh(e, t, s.Refresh), http.StatusUnauthorized, "unauthorized")
			e.Clock.Advance(time.Minute)
		}
		if n := noticesTo(t, e, "alice@example.com", "session"); n != 1 {
			t.Fatalf("%d notices after 10 replays of one refresh token; want 1", n)
		}
		// New-device notices: sign-ins from 8 devices within one clock hour.
		now := e.Clock.Now()
		e.Clock.Advance(now.Truncate(time.Hour).Add(time.Hour + time.Minute).Sub(now))
		before := noticesTo(t, e, "alice@example.com", "")
		for i := range 8 {
			flowID, code, _ := e.StartEmail(t, "alice@example.com")
			e.Clock.Advance(16 * time.Minute / 3)
			testserver.SessionOf(t, e.Do(t, "POST", "/api/email/verify", map[string]string{"flow_id": flowID, "code": code},
				testserver.H("User-Agent", fmt.Sprintf("Device/%d", i))))
		}
		signIns := 8
		if n := noticesTo(t, e, "alice@example.com", "") - before - signIns; n != 5 {
			t.Fatalf("%d notices from 8 new devices within the hour; want 5", n)
		}
	})
}

// codeFrom waits for the next message to email and returns its code.
func codeFrom(t *testing.T, e *testserver.Env, email string) string {
	t.Helper()
	for range 10 {
		if code := testsmtp.ExtractCode(e.SMTP.Wait(t, email).Text); code != "" {
			return code
		}
	}
	t.Fatalf("no code for %s", email)
	return ""
}

// TestOtherIPCannotBlockSignInMail is finding 5 (rule 56): one IP starting
// flow after flow for an address neither ends the owner's live flow nor
// keeps the owner, on another IP, from getting a code that works.
func TestOtherIPCannotBlockSignInMail(t *testing.T) {
	engines(t, testserver.Options{TrustProxy: true}, func(t *testing.T, e *testserver.Env) {
		const email = "alice@example.com"
		e.SignIn(t, email)
		owner := testserver.H("X-Forwarded-For", "198.51.100.7")
		attacker := testserver.H("X-Forwarded-For", "203.0.113.9")
		r := startEmail(e, t, email, owner)
		if r.Status != http.StatusAccepted {
			t.Fatalf("owner's start: %d %s", r.Status, r.Body)
		}
		flowID, code := r.JSON(t)["flow_id"].(string), codeFrom(t, e, email)
		accepted := 0
		for range 10 {
			if startEmail(e, t, email, attacker).Status == http.StatusAccepted {
				accepted++
			}
		}
		if accepted == 10 {
			t.Errorf("one IP started 10 flows for one address within a minute; want it limited")
		}
		for range accepted {
			codeFrom(t, e, email)
		}
		// The owner's flow, begun before, still works.
		testserver.SessionOf(t, e.Do(t, "POST", "/api/email/verify", map[string]string{"flow_id": flowID, "code": code}, owner))
		// And the owner can start another and use it.
		r = startEmail(e, t, email, owner)
		if r.Status != http.StatusAccepted {
			t.Fatalf("owner's start after the attack: %d %s; want 202", r.Status, r.Body)
		}
		flowID, code = r.JSON(t)["flow_id"].(string), codeFrom(t, e, email)
		testserver.SessionOf(t, e.Do(t, "POST", "/api/email/verify", map[string]string{"flow_id": flowID, "code": code}, owner))
	})
}

// TestOneEmailNormalisation is finding 10 (rule 59): every path reads an
// address the same way. Two spellings of one mailbox reach one account; an
// account made by email as "ａlice@…" can use its password over SCRAM;
// addresses with IP-literal domains, control or format characters, or
// invalid UTF-8 are refused everywhere and change nothing.
func TestOneEmailNormalisation(t *testing.T) {
	e := testserver.New(t, testserver.Options{})
	signIn := func(typed, delivered string) testserver.Session {
		t.Helper()
		e.Clock.Advance(6 * time.Minute) // 3 starts per 15 minutes per address
		r := startEmail(e, t, typed)
		if r.Status != http.StatusAccepted {
			t.Fatalf("start %q: %d %s", typed, r.Status, r.Body)
		}
		flowID, code := r.JSON(t)["flow_id"].(string), codeFrom(t, e, delivered)
		return testserver.SessionOf(t, e.Do(t, "POST", "/api/email/verify", map[string]string{"flow_id": flowID, "code": code}))
	}
	first := signIn("alice@exämple.com", "alice@xn--exmple-cua.com")
	for _, typed := range []string{"alice@xn--exmple-cua.com", "ALICE@EXÄMPLE.COM", "alice@exa\u0308mple.com"} {
		if s := signIn(typed, "alice@xn--exmple-cua.com"); s.UserID != first.UserID {
			t.Errorf("%q signed in to account %s; want %s, the account of alice@exämple.com", typed, s.UserID, first.UserID)
		}
	}
	// Made by email with a full-width letter, used with its password.
	const wide = "ａlice@example.com"
	s := signIn(wide, wide)
	setPassword(t, e, s, wide, testPassword)
	cl, err := scram.SHA256.NewClientUnprepped(wide, testPassword, "")
	if err != nil {
		t.Fatal(err)
	}
	passwordLogin(t, e, cl)
	// Refused on every path, with nothing stored.
	flowsBefore, _ := e.App.DB.TableRows(context.Background(), "email_flows")
	for _, bad := range []string{"alice@[127.0.0.1]", "alice@127.0.0.1", "ali\u2028ce@example.com", "alice\u0085@example.com",
		"ali\u00adce@example.com", "ali\u200bce@example.com", "alice@exa\u200bmple.com", "ali\xffce@example.com"} {
		assertProblem(t, startEmail(e, t, bad), http.StatusBadRequest, "bad_request")
		assertProblem(t, e.Do(t, "POST", "/api/webauthn/login/begin", map[string]string{"email": bad}), http.StatusBadRequest, "bad_request")
		r := e.Do(t, "POST", "/api/password/login/begin", map[string]string{"client_first": "n,,n=" + bad + ",r=abcdefghijkl"})
		assertProblem(t, r, http.StatusBadRequest, "bad_request")
	}
	if n, _ := e.App.DB.TableRows(context.Background(), "email_flows"); n != flowsBefore {
		t.Errorf("refused addresses stored %d email flows", n-flowsBefore)
	}
}

// loginOptions begins an email-first passkey sign-in for email and returns
// the request options.
func loginOptions(t *testing.T, e *testserver.Env, email string) map[string]any {
	t.Helper()
	c := testauthn.Begin(t, e, "/api/webauthn/login/begin", map[string]any{"email": email})
	var o map[string]any
	if err := json.Unmarshal(c.PublicKey, &o); err != nil {
		t.Fatal(err)
	}
	return o
}

// shapeOf describes one allowCredentials entry by everything but its
// random bytes: its members, its id length and its transports.
func shapeOf(t *testing.T, entry any) string {
	t.Helper()
	m := entry.(map[string]any)
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	transports, _ := json.Marshal(m["transports"])
	return fmt.Sprintf("keys=%v type=%v id=%dB transports=%s", keys, m["type"], len(unb64url(t, m["id"])), transports)
}

// optionKeys lists the members of request options.
func optionKeys(o map[string]any) string {
	var keys []string
	for k := range o {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return strings.Join(keys, ",")
}

// TestFakeAllowCredentialsLookReal is finding 4 (rule 55): the
// allowCredentials of real accounts of every kind — a platform passkey, a
// security key on USB and NFC with a 64-byte id, three passkeys — show no
// count, member, id length or transport list that unknown addresses never
// show; the fake ones are stable per address.
func TestFakeAllowCredentialsLookReal(t *testing.T) {
	e := testserver.New(t, testserver.Options{RateLimits: "off"})
	real := map[string]func(access string){
		"platform@example.com": func(access string) { testauthn.Register(t, e, testauthn.New(e.PublicURL), access) },
		"key@example.com": func(access string) {
			a := testauthn.New(e.PublicURL)
			a.Options = testauthn.Options{Transports: []string{"usb", "nfc"}, Attachment: "cross-platform", IDLength: 64, CountSignatures: true}
			testauthn.Register(t, e, a, access)
		},
		"three@example.com": func(access string) {
			for range 3 {
				testauthn.Register(t, e, testauthn.New(e.PublicURL), access)
			}
		},
	}
	for email, register := range real {
		register(e.SignIn(t, email).Access)
	}
	counts, shapes, keys := map[int]bool{}, map[string]bool{}, map[string]bool{}
	for i := range 300 {
		email := fmt.Sprintf("nobody%d@example.com", i)
		o := loginOptions(t, e, email)
		list, _ := o["allowCredentials"].([]any)
		counts[len(list)] = true
		keys[optionKeys(o)] = true
		for _, c := range list {
			shapes[shapeOf(t, c)] = true
		}
		if i < 5 {
			again, _ := loginOptions(t, e, strings.ToUpper(email))["allowCredentials"].([]any)
			if fmt.Sprint(again) != fmt.Sprint(list) {
				t.Fatalf("fake allowCredentials of %s not stable: %v then %v", email, list, again)
			}
		}
	}
	if counts[0] || len(counts) < 3 {
		t.Errorf("unknown addresses show %v credentials; want 1 to 3", counts)
	}
	for email := range real {
		o := loginOptions(t, e, email)
		list, _ := o["allowCredentials"].([]any)
		if !counts[len(list)] {
			t.Errorf("%s shows %d credentials, a count no unknown address shows (%v)", email, len(list), counts)
		}
		if !keys[optionKeys(o)] {
			t.Errorf("%s's options have members %s; unknown addresses' have %v", email, optionKeys(o), keys)
		}
		for _, c := range list {
			if s := shapeOf(t, c); !shapes[s] {
				t.Errorf("%s shows a credential %s, a shape no unknown address shows", email, s)
			}
		}
	}
	if t.Failed() {
		t.Logf("shapes unknown addresses show: %v", shapes)
	}
}

// TestOAuthEndpointsLimitedPerIP is finding 3 for the OpenID Connect
// endpoints that write without a signed-in user (rule 54): token, revoke,
// and the pages' deny and sign-out calls.
func TestOAuthEndpointsLimitedPerIP(t *testing.T) {
	e := testserver.New(t, testserver.Options{TrustProxy: true})
	ip := testserver.H("X-Forwarded-For", "203.0.113.9")
	form := testserver.H("Content-Type", "application/x-www-form-urlencoded")
	for _, path := range []string{"/oauth2/token", "/oauth2/revoke", "/api/oauth2/requests/x/deny", "/api/oauth2/logout/x/complete"} {
		limited := false
		for i := 0; i < 700 && !limited; i++ {
			var r testserver.Response
			if strings.HasPrefix(path, "/oauth2/") {
				r = e.Do(t, "POST", path, "grant_type=authorization_code&code=x&client_id=nobody&token=x", ip, form)
			} else {
				r = e.Do(t, "POST", path, map[string]string{}, ip)
			}
			if r.Status >= 500 {
				t.Fatalf("%s: %d %s", path, r.Status, r.Body)
			}
			limited = r.Status == http.StatusTooManyRequests
		}
		if !limited {
			t.Errorf("%s: 700 requests from one IP within a minute, none limited", path)
		}
	}
}

// TestEmailStartCeilingPerAddress: under the per-(address, IP) limits a
// per-address ceiling still holds, the bound on guessing one address's
// codes (rule 56): 30 codes an hour from all IPs together.
func TestEmailStartCeilingPerAddress(t *testing.T) {
	e := testserver.New(t, testserver.Options{TrustProxy: true})
	now := e.Clock.Now()
	e.Clock.Advance(now.Truncate(time.Hour).Add(time.Hour + time.Minute).Sub(now))
	for ip := 1; ip <= 10; ip++ {
		for i := range 3 {
			if r := startEmail(e, t, "alice@example.com", testserver.H("X-Forwarded-For", fmt.Sprintf("198.51.100.%d", ip))); r.Status != http.StatusAccepted {
				t.Fatalf("IP %d, start %d: %d %s; want 202", ip, i+1, r.Status, r.Body)
			}
		}
	}
	r := startEmail(e, t, "alice@example.com", testserver.H("X-Forwarded-For", "198.51.100.11"))
	assertProblem(t, r, http.StatusTooManyRequests, "rate_limited")
	if r := startEmail(e, t, "bob@example.com", testserver.H("X-Forwarded-For", "198.51.100.11")); r.Status != http.StatusAccepted {
		t.Fatalf("another address from the same IP: %d; want 202", r.Status)
	}
}
