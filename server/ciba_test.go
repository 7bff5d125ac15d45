package server_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/internal/testauthn"
	"github.com/sesame-auth/sesame/internal/testserver"
	"github.com/sesame-auth/sesame/limit"
	"github.com/sesame-auth/sesame/oidc"
)

// cibaApp is an app asking people for approvals, as a bank's backend
// does: plain net/http with client_secret_basic.
type cibaApp struct {
	e          *testserver.Env
	id, secret string
}

func newCIBAApp(t *testing.T, e *testserver.Env, n oidc.NewClient) *cibaApp {
	t.Helper()
	if n.Name == "" {
		n.Name = "Bank"
	}
	c, secret, err := e.App.OIDC.Register(context.Background(), n)
	if err != nil {
		t.Fatalf("register client: %v", err)
	}
	return &cibaApp{e: e, id: c.ID, secret: secret}
}

// oauthAnswer is a protocol endpoint's status and JSON body.
type oauthAnswer struct {
	status int
	body   map[string]any
}

func (a oauthAnswer) str(k string) string { s, _ := a.body[k].(string); return s }

func readAnswer(t *testing.T, res *http.Response) oauthAnswer {
	t.Helper()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	out := oauthAnswer{status: res.StatusCode, body: map[string]any{}}
	if err := json.Unmarshal(raw, &out.body); err != nil {
		t.Fatalf("%d %s is not JSON", res.StatusCode, raw)
	}
	return out
}

// ask posts a backchannel authentication request.
func (a *cibaApp) ask(t *testing.T, hint, message string, extra url.Values) oauthAnswer {
	t.Helper()
	v := url.Values{"scope": {"openid email"}, "login_hint": {hint}, "binding_message": {message}}
	for k, vs := range extra {
		v[k] = vs
	}
	return readAnswer(t, form(t, a.e, "/oauth2/bc-authorize", v, a.id, a.secret))
}

// askOK asks and returns the auth_req_id, checking the answer's shape.
func (a *cibaApp) askOK(t *testing.T, hint, message string, extra url.Values) string {
	t.Helper()
	r := a.ask(t, hint, message, extra)
	if r.status != http.StatusOK || len(r.str("auth_req_id")) < 43 || r.body["interval"] != float64(5) || r.body["expires_in"] == nil {
		t.Fatalf("bc-authorize = %d %v; want 200 {auth_req_id, expires_in, interval 5}", r.status, r.body)
	}
	return r.str("auth_req_id")
}

// poll asks the token endpoint for the tokens of authReqID.
func (a *cibaApp) poll(t *testing.T, authReqID string) oauthAnswer {
	t.Helper()
	return readAnswer(t, form(t, a.e, "/oauth2/token", url.Values{"grant_type": {oidc.GrantCIBA}, "auth_req_id": {authReqID}}, a.id, a.secret))
}

func wantOAuthError(t *testing.T, r oauthAnswer, status int, code string) {
	t.Helper()
	if r.status != status || r.str("error") != code {
		t.Fatalf("answer = %d %v; want %d %s", r.status, r.body, status, code)
	}
}

// pendingApprovals is GET /api/approvals for the person.
func pendingApprovals(t *testing.T, e *testserver.Env, access string) []map[string]any {
	t.Helper()
	r := e.Do(t, "GET", "/api/approvals", nil, testserver.Bearer(access))
	var list []map[string]any
	if r.Status != http.StatusOK || json.Unmarshal(r.Body, &list) != nil {
		t.Fatalf("GET /api/approvals = %d %s", r.Status, r.Body)
	}
	return list
}

// onlyApproval is the id of the one pending approval whose message is msg.
func onlyApproval(t *testing.T, e *testserver.Env, access, msg string) string {
	t.Helper()
	for _, a := range pendingApprovals(t, e, access) {
		if a["binding_message"] == msg {
			return a["id"].(string)
		}
	}
	t.Fatalf("no pending approval says %q", msg)
	return ""
}

// approve runs the person's approval with a real assertion from a.
func approve(t *testing.T, e *testserver.Env, a *testauthn.Authenticator, access, id string) testserver.Response {
	t.Helper()
	c := testauthn.Begin(t, e, "/api/approvals/"+id+"/begin", map[string]any{}, testserver.Bearer(access))
	resp, err := a.Get(c.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return e.Do(t, "POST", "/api/approvals/"+id+"/approve", testauthn.Finish(c.ID, resp), testserver.Bearer(access))
}

// TestApprovalFlow is an approval end to end (API.md "Approvals"): the
// app asks with plain net/http, the person lists it, approves with a real
// passkey assertion, and the polling app gets an ID token go-oidc
// verifies, repeating the auth_req_id (txn) and the exact message; the
// tokens come once. Discovery names the endpoint, and an unknown person
// gets the same answer, whose request never completes.
func TestApprovalFlow(t *testing.T) {
	engines(t, listening, func(t *testing.T, e *testserver.Env) {
		ctx := context.Background()
		s, authn := testauthn.SignUp(t, e, "ada@example.com")
		app := newCIBAApp(t, e, oidc.NewClient{CIBA: true})
		provider, err := gooidc.NewProvider(ctx, e.PublicURL)
		if err != nil {
			t.Fatal(err)
		}
		var disc map[string]any
		if err := provider.Claims(&disc); err != nil {
			t.Fatal(err)
		}
		modes, _ := disc["backchannel_token_delivery_modes_supported"].([]any)
		grants, _ := disc["grant_types_supported"].([]any)
		if disc["backchannel_authentication_endpoint"] != e.PublicURL+"/oauth2/bc-authorize" || len(modes) != 1 || modes[0] != "poll" ||
			disc["backchannel_user_code_parameter_supported"] != false || !slices.Contains(grants, any(oidc.GrantCIBA)) {
			t.Fatalf("discovery lacks CIBA: %v", disc)
		}

		msg := "Pay 120.00 EUR to ACME Ltd — 請求書 #42"
		reqID := app.askOK(t, "ADA@example.com", msg, nil)
		wantOAuthError(t, app.poll(t, reqID), 400, "authorization_pending")
		wantOAuthError(t, app.poll(t, reqID), 400, "slow_down")

		list := pendingApprovals(t, e, s.Access)
		if len(list) != 1 || list[0]["binding_message"] != msg || list[0]["client"].(map[string]any)["name"] != "Bank" || list[0]["expires_at"] == nil {
			t.Fatalf("pending approvals = %v", list)
		}
		id := list[0]["id"].(string)
		if r := approve(t, e, authn, s.Access, id); r.Status != http.StatusNoContent {
			t.Fatalf("approve = %d %s; want 204", r.Status, r.Body)
		}
		if left := pendingApprovals(t, e, s.Access); len(left) != 0 {
			t.Fatalf("after approval still pending: %v", left)
		}

		e.Clock.Advance(oidc.CIBAInterval)
		tok := app.poll(t, reqID)
		if tok.status != http.StatusOK || tok.str("access_token") == "" || tok.str("token_type") != "Bearer" {
			t.Fatalf("token = %d %v; want 200 with tokens", tok.status, tok.body)
		}
		verifier := provider.Verifier(&gooidc.Config{ClientID: app.id, SupportedSigningAlgs: []string{"RS256"}, Now: e.Clock.Now})
		idt, err := verifier.Verify(ctx, tok.str("id_token"))
		if err != nil {
			t.Fatalf("ID token does not verify: %v", err)
		}
		var claims struct {
			TXN            string   `json:"txn"`
			BindingMessage string   `json:"binding_message"`
			AMR            []string `json:"amr"`
			Email          string   `json:"email"`
		}
		if err := idt.Claims(&claims); err != nil {
			t.Fatal(err)
		}
		if idt.Subject != s.UserID || claims.TXN != reqID || claims.BindingMessage != msg || claims.Email != "ada@example.com" ||
			!(slices.Contains(claims.AMR, "swk") || slices.Contains(claims.AMR, "hwk")) {
			t.Fatalf("ID token: sub %q %+v", idt.Subject, claims)
		}

		e.Clock.Advance(oidc.CIBAInterval)
		wantOAuthError(t, app.poll(t, reqID), 400, "invalid_grant")

		// Nobody: the same answer, and the request never completes.
		ghost := app.askOK(t, "nobody@example.com", msg, nil)
		e.Clock.Advance(oidc.CIBAInterval)
		wantOAuthError(t, app.poll(t, ghost), 400, "authorization_pending")

		events, err := e.App.DB.AuditEvents(ctx, s.UserID, 100)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		for _, ev := range events {
			if ev.Result == "success" {
				seen[ev.Event] = true
			}
		}
		for _, want := range []string{oidc.EventCIBARequested, oidc.EventCIBAApproved, oidc.EventCIBARedeemed} {
			if !seen[want] {
				t.Errorf("no %s audit event", want)
			}
		}
	})
}

// challengeFor is an approval challenge as Sesame derives it (nonce ‖
// SHA-256(prefix ‖ nonce ‖ SHA-256(auth_req_id) ‖ message)), made here
// for another message, as a page tricked into showing other words would.
func challengeFor(authReqID, message string) string {
	nonce := sesame.RandomBytes(16)
	rh := sha256.Sum256([]byte(authReqID))
	h := sha256.New()
	h.Write([]byte("sesame approval v1\x00"))
	h.Write(nonce)
	h.Write(rh[:])
	h.Write([]byte(message))
	return base64.RawURLEncoding.EncodeToString(append(nonce, h.Sum(nil)...))
}

// withChallenge is begin options with their challenge replaced.
func withChallenge(t *testing.T, options json.RawMessage, challenge string) []byte {
	t.Helper()
	var o map[string]any
	if err := json.Unmarshal(options, &o); err != nil {
		t.Fatal(err)
	}
	o["challenge"] = challenge
	b, _ := json.Marshal(o)
	return b
}

// TestApprovalRefusals covers SECURITY rule 61 and API.md "Approvals":
// each refusal answers clearly and changes nothing. A tampered message
// (an assertion over a challenge for other words) and an assertion made
// for another request are refused; a replayed assertion is refused; an
// approval finished after expiry is refused and the app sees
// expired_token; a second redemption is invalid_grant (in
// TestApprovalFlow); a denial reaches the app as access_denied; a client
// without --ciba, a message over 200 characters, a too long expiry, a
// sixth pending request and an app past its per-client limit are
// refused; acr_values=phrh refuses a synced passkey; a person without a
// passkey can deny but not approve; another person cannot touch the
// approval.
func TestApprovalRefusals(t *testing.T) {
	engines(t, listening, func(t *testing.T, e *testserver.Env) {
		s, authn := testauthn.SignUp(t, e, "ada@example.com")
		app := newCIBAApp(t, e, oidc.NewClient{CIBA: true})

		t.Run("client without --ciba", func(t *testing.T) {
			plain := newCIBAApp(t, e, oidc.NewClient{RedirectURIs: []string{rpRedirect}})
			wantOAuthError(t, plain.ask(t, "ada@example.com", "Pay 1 EUR", nil), 400, "unauthorized_client")
			wantOAuthError(t, plain.poll(t, "x"), 400, "unauthorized_client")
			if _, _, err := e.App.OIDC.Register(context.Background(), oidc.NewClient{Name: "SPA", Public: true, CIBA: true}); err == nil {
				t.Error("a public client registered with --ciba")
			}
			wrong := &cibaApp{e: e, id: app.id, secret: "wrong"}
			wantOAuthError(t, wrong.ask(t, "ada@example.com", "Pay 1 EUR", nil), 401, "invalid_client")
		})

		t.Run("bad requests", func(t *testing.T) {
			wantOAuthError(t, app.ask(t, "ada@example.com", strings.Repeat("x", 201), nil), 400, "invalid_binding_message")
			wantOAuthError(t, app.ask(t, "ada@example.com", "", nil), 400, "invalid_binding_message")
			wantOAuthError(t, app.ask(t, "ada@example.com", "Pay\n1 EUR", nil), 400, "invalid_binding_message")
			wantOAuthError(t, app.ask(t, "ada@example.com", "Pay", url.Values{"requested_expiry": {"601"}}), 400, "invalid_request")
			wantOAuthError(t, app.ask(t, "ada@example.com", "Pay", url.Values{"scope": {"email"}}), 400, "invalid_scope")
			wantOAuthError(t, app.ask(t, "", "Pay", nil), 400, "invalid_request")
			if got := pendingApprovals(t, e, s.Access); len(got) != 0 {
				t.Fatalf("refused requests left approvals: %v", got)
			}
			// 200 characters, not bytes, is the limit.
			app.askOK(t, "ada@example.com", strings.Repeat("語", 200), nil)
			deny(t, e, s.Access, onlyApproval(t, e, s.Access, strings.Repeat("語", 200)))
		})

		t.Run("tampered message, other request, replay", func(t *testing.T) {
			small := app.askOK(t, "ada@example.com", "Pay 10 EUR to Bob", nil)
			big := app.askOK(t, "ada@example.com", "Pay 10000 EUR to Mallory", nil)
			smallID := onlyApproval(t, e, s.Access, "Pay 10 EUR to Bob")
			bigID := onlyApproval(t, e, s.Access, "Pay 10000 EUR to Mallory")
			// The page showed "Pay 10 EUR to Bob" but the signature is asked for big.
			c := testauthn.Begin(t, e, "/api/approvals/"+bigID+"/begin", map[string]any{}, testserver.Bearer(s.Access))
			resp, err := authn.Get(withChallenge(t, c.PublicKey, challengeFor(big, "Pay 10 EUR to Bob")))
			if err != nil {
				t.Fatal(err)
			}
			r := e.Do(t, "POST", "/api/approvals/"+bigID+"/approve", testauthn.Finish(c.ID, resp), testserver.Bearer(s.Access))
			assertProblem(t, r, http.StatusBadRequest, "ceremony_failed")
			// An assertion made for the small request, presented for the big one.
			c2 := testauthn.Begin(t, e, "/api/approvals/"+smallID+"/begin", map[string]any{}, testserver.Bearer(s.Access))
			resp2, err := authn.Get(c2.PublicKey)
			if err != nil {
				t.Fatal(err)
			}
			r = e.Do(t, "POST", "/api/approvals/"+bigID+"/approve", testauthn.Finish(c2.ID, resp2), testserver.Bearer(s.Access))
			assertProblem(t, r, http.StatusBadRequest, "ceremony_failed")
			e.Clock.Advance(oidc.CIBAInterval)
			wantOAuthError(t, app.poll(t, big), 400, "authorization_pending")
			wantOAuthError(t, app.poll(t, small), 400, "authorization_pending")
			// A good approval of small, then its assertion replayed.
			c3 := testauthn.Begin(t, e, "/api/approvals/"+smallID+"/begin", map[string]any{}, testserver.Bearer(s.Access))
			resp3, err := authn.Get(c3.PublicKey)
			if err != nil {
				t.Fatal(err)
			}
			if r := e.Do(t, "POST", "/api/approvals/"+smallID+"/approve", testauthn.Finish(c3.ID, resp3), testserver.Bearer(s.Access)); r.Status != http.StatusNoContent {
				t.Fatalf("approve = %d %s", r.Status, r.Body)
			}
			r = e.Do(t, "POST", "/api/approvals/"+smallID+"/approve", testauthn.Finish(c3.ID, resp3), testserver.Bearer(s.Access))
			assertProblem(t, r, http.StatusNotFound, "not_found")
			r = e.Do(t, "POST", "/api/approvals/"+bigID+"/approve", testauthn.Finish(c3.ID, resp3), testserver.Bearer(s.Access))
			assertProblem(t, r, http.StatusGone, "used")
			e.Clock.Advance(oidc.CIBAInterval)
			wantOAuthError(t, app.poll(t, big), 400, "authorization_pending")
			if tok := app.poll(t, small); tok.status != http.StatusOK {
				t.Fatalf("small = %d %v; want its tokens", tok.status, tok.body)
			}
			deny(t, e, s.Access, bigID)
		})

		t.Run("deny", func(t *testing.T) {
			reqID := app.askOK(t, "ada@example.com", "Delete project Apollo", nil)
			id := onlyApproval(t, e, s.Access, "Delete project Apollo")
			deny(t, e, s.Access, id)
			e.Clock.Advance(oidc.CIBAInterval)
			wantOAuthError(t, app.poll(t, reqID), 400, "access_denied")
			c := e.Do(t, "POST", "/api/approvals/"+id+"/begin", map[string]any{}, testserver.Bearer(s.Access))
			assertProblem(t, c, http.StatusNotFound, "not_found")
		})

		t.Run("approval after expiry", func(t *testing.T) {
			reqID := app.askOK(t, "ada@example.com", "Wire 5 EUR", url.Values{"requested_expiry": {"60"}})
			id := onlyApproval(t, e, s.Access, "Wire 5 EUR")
			c := testauthn.Begin(t, e, "/api/approvals/"+id+"/begin", map[string]any{}, testserver.Bearer(s.Access))
			resp, err := authn.Get(c.PublicKey)
			if err != nil {
				t.Fatal(err)
			}
			e.Clock.Advance(61 * time.Second)
			r := e.Do(t, "POST", "/api/approvals/"+id+"/approve", testauthn.Finish(c.ID, resp), testserver.Bearer(s.Access))
			assertProblem(t, r, http.StatusNotFound, "not_found")
			wantOAuthError(t, app.poll(t, reqID), 400, "expired_token")
		})

		t.Run("acr_values", func(t *testing.T) {
			// phrh wants a device-bound key: Dan's synced passkey is refused.
			dan := e.SignIn(t, "dan@example.com")
			synced := testauthn.New(e.PublicURL)
			synced.Options.BackupEligible, synced.Options.BackupState = true, true
			testauthn.Register(t, e, synced, dan.Access)
			hw := app.askOK(t, "dan@example.com", "Close account", url.Values{"acr_values": {"phrh"}})
			r := approve(t, e, synced, dan.Access, onlyApproval(t, e, dan.Access, "Close account"))
			assertProblem(t, r, http.StatusForbidden, "step_up_required")
			e.Clock.Advance(oidc.CIBAInterval)
			wantOAuthError(t, app.poll(t, hw), 400, "authorization_pending")
			deny(t, e, dan.Access, onlyApproval(t, e, dan.Access, "Close account"))
			// Ada's device-bound key meets it, and the ID token says so.
			ok := app.askOK(t, "ada@example.com", "Open account", url.Values{"acr_values": {"phr phrh"}})
			if r := approve(t, e, authn, s.Access, onlyApproval(t, e, s.Access, "Open account")); r.Status != http.StatusNoContent {
				t.Fatalf("approve = %d %s", r.Status, r.Body)
			}
			tok := app.poll(t, ok)
			var claims struct {
				ACR string `json:"acr"`
			}
			parts := strings.Split(tok.str("id_token"), ".")
			if len(parts) != 3 {
				t.Fatalf("token = %v", tok.body)
			}
			payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
			if err := json.Unmarshal(payload, &claims); err != nil || claims.ACR != "phrh" {
				t.Fatalf("acr = %q (%v); want phrh", claims.ACR, err)
			}
		})

		t.Run("six pending", func(t *testing.T) {
			for i := range oidc.MaxPendingApprovals {
				app.askOK(t, "ada@example.com", "Request "+string(rune('A'+i)), nil)
			}
			wantOAuthError(t, app.ask(t, "ada@example.com", "Request F", nil), 403, "access_denied")
			if got := pendingApprovals(t, e, s.Access); len(got) != oidc.MaxPendingApprovals {
				t.Fatalf("pending = %d; want %d", len(got), oidc.MaxPendingApprovals)
			}
			for _, a := range pendingApprovals(t, e, s.Access) {
				deny(t, e, s.Access, a["id"].(string))
			}
			// An address with no account is refused at the same count (as
			// written differently), so the refusal names nobody's account.
			for i := range oidc.MaxPendingApprovals {
				app.askOK(t, "Nobody.Six@example.com", "Request "+string(rune('A'+i)), nil)
			}
			wantOAuthError(t, app.ask(t, "nobody.six@EXAMPLE.com", "Request F", nil), 403, "access_denied")
			app.askOK(t, "somebody.else@example.com", "Request F", nil)
		})

		t.Run("per-client limit", func(t *testing.T) {
			busy := newCIBAApp(t, e, oidc.NewClient{Name: "Busy", CIBA: true})
			for i := range limit.BCAuthorizePerClient.Max {
				busy.askOK(t, fmt.Sprintf("nobody%d@example.com", i), "Pay 1 EUR", nil)
			}
			r := busy.ask(t, "ada@example.com", "Pay 1 EUR", nil)
			if r.status != http.StatusTooManyRequests || r.str("code") != "rate_limited" {
				t.Fatalf("request %d = %d %v; want 429 rate_limited", limit.BCAuthorizePerClient.Max+1, r.status, r.body)
			}
			if got := pendingApprovals(t, e, s.Access); len(got) != 0 {
				t.Fatalf("a limited request left an approval: %v", got)
			}
			// Another app is not held back.
			app.askOK(t, "nobody@example.com", "Pay 1 EUR", nil)
		})

		t.Run("email-only session and another person", func(t *testing.T) {
			bob := e.SignIn(t, "bob@example.com")
			app.askOK(t, "bob@example.com", "Approve login on TV", nil)
			id := onlyApproval(t, e, bob.Access, "Approve login on TV")
			r := e.Do(t, "POST", "/api/approvals/"+id+"/begin", map[string]any{}, testserver.Bearer(bob.Access))
			assertProblem(t, r, http.StatusBadRequest, "bad_request")
			// Ada cannot see, begin or deny Bob's approval.
			r = e.Do(t, "POST", "/api/approvals/"+id+"/begin", map[string]any{}, testserver.Bearer(s.Access))
			assertProblem(t, r, http.StatusNotFound, "not_found")
			r = e.Do(t, "POST", "/api/approvals/"+id+"/deny", map[string]any{}, testserver.Bearer(s.Access))
			assertProblem(t, r, http.StatusNotFound, "not_found")
			deny(t, e, bob.Access, id)
		})
	})
}

func deny(t *testing.T, e *testserver.Env, access, id string) {
	t.Helper()
	if r := e.Do(t, "POST", "/api/approvals/"+id+"/deny", map[string]any{}, testserver.Bearer(access)); r.Status != http.StatusNoContent {
		t.Fatalf("deny = %d %s; want 204", r.Status, r.Body)
	}
}
