package server_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sesame-auth/sesame/internal/mailparse"
	"github.com/sesame-auth/sesame/internal/testauthn"
	"github.com/sesame-auth/sesame/internal/testserver"
	"github.com/sesame-auth/sesame/internal/testsmtp"
	"github.com/sesame-auth/sesame/limit"
	"github.com/sesame-auth/sesame/oidc"
)

// approvalMail waits for the next approval email to addr (skipping sign-in
// mails and notices) and returns it with its link's token.
func approvalMail(t *testing.T, e *testserver.Env, addr string) (testsmtp.Message, string) {
	t.Helper()
	for {
		m := e.SMTP.Wait(t, addr)
		if tok := mailparse.ExtractApprovalToken(m.Text); tok != "" {
			return m, tok
		}
	}
}

// byLink posts token (and more) to an approval link endpoint, as the
// /approve page does: no session.
func byLink(t *testing.T, e *testserver.Env, path, token string, extra map[string]any) testserver.Response {
	t.Helper()
	body := map[string]any{"token": token}
	for k, v := range extra {
		body[k] = v
	}
	return e.Do(t, "POST", "/api/approvals/link"+path, body)
}

// approveByLink approves through the link with a real assertion from a.
func approveByLink(t *testing.T, e *testserver.Env, a *testauthn.Authenticator, token string) testserver.Response {
	t.Helper()
	c := testauthn.Begin(t, e, "/api/approvals/link/begin", map[string]any{"token": token})
	resp, err := a.Get(c.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return byLink(t, e, "/approve", token, testauthn.Finish(c.ID, resp))
}

// auditCount counts userID's events named event whose detail names
// request id (any request when id is "") and whose result is result.
func auditCount(t *testing.T, e *testserver.Env, userID, event, result, id string) int {
	t.Helper()
	events, err := e.App.DB.AuditEvents(context.Background(), userID, 500)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, ev := range events {
		if ev.Event == event && ev.Result == result && (id == "" || strings.Contains(ev.Detail, "request "+id)) {
			n++
		}
	}
	return n
}

// TestApprovalEmail: a request tells the person by email, in the language
// of ui_locales, with the message exactly as sent (escaped in the HTML
// part) and a link whose token rides in the fragment. The link shows the
// request without a session and spends nothing; it approves only with a
// passkey assertion, after which the app gets tokens whose ID token
// repeats the message and says amr hwk or swk. The link then works no
// more (used, with the decision), and a second use changes nothing.
func TestApprovalEmail(t *testing.T) {
	engines(t, listening, func(t *testing.T, e *testserver.Env) {
		s, authn := testauthn.SignUp(t, e, "ada@example.com")
		app := newCIBAApp(t, e, oidc.NewClient{Name: "Bank & Co", CIBA: true})

		msg := `Pay 120.00 EUR to <b>ACME</b> — 請求書 #42`
		reqID := app.askOK(t, "ada@example.com", msg, url.Values{"ui_locales": {"fr ja-JP en"}})
		m, token := approvalMail(t, e, "ada@example.com")
		if want := "Bank & Co から承認の依頼：" + msg; m.Subject != want {
			t.Errorf("subject = %q; want %q", m.Subject, want)
		}
		if !strings.Contains(m.Text, "\n    "+msg+"\n") || !strings.Contains(m.Text, e.PublicURL+"/approve#t="+token+"\n") {
			t.Errorf("text lacks the exact message or the link:\n%s", m.Text)
		}
		if strings.Contains(m.HTML, "<b>ACME</b>") || !strings.Contains(m.HTML, "&lt;b&gt;ACME&lt;/b&gt;") || !strings.Contains(m.HTML, "確認して承認") {
			t.Errorf("HTML does not show the message as escaped Japanese text:\n%s", m.HTML)
		}
		if strings.Contains(m.Text, "?t=") || strings.Contains(m.Text, reqID) {
			t.Errorf("the mail carries the token in a query or the app's auth_req_id:\n%s", m.Text)
		}

		// The link shows the request without a session, as often as asked.
		for range 2 {
			r := byLink(t, e, "", token, nil)
			v := r.JSON(t)
			if r.Status != http.StatusOK || v["binding_message"] != msg || v["client"].(map[string]any)["name"] != "Bank & Co" || v["expires_at"] == nil {
				t.Fatalf("link info = %d %s", r.Status, r.Body)
			}
			if v["id"] != onlyApproval(t, e, s.Access, msg) {
				t.Fatalf("link shows request %v; the account lists another", v["id"])
			}
		}
		wantOAuthError(t, app.poll(t, reqID), 400, "authorization_pending")

		if r := approveByLink(t, e, authn, token); r.Status != http.StatusNoContent {
			t.Fatalf("approve by link = %d %s; want 204", r.Status, r.Body)
		}
		e.Clock.Advance(oidc.CIBAInterval)
		tok := app.poll(t, reqID)
		if tok.status != http.StatusOK {
			t.Fatalf("token = %d %v", tok.status, tok.body)
		}
		var claims struct {
			BindingMessage string   `json:"binding_message"`
			AMR            []string `json:"amr"`
			TXN            string   `json:"txn"`
		}
		idTokenClaims(t, tok.str("id_token"), &claims)
		if claims.BindingMessage != msg || claims.TXN != reqID || !(slices.Contains(claims.AMR, "hwk") || slices.Contains(claims.AMR, "swk")) {
			t.Fatalf("ID token claims %+v", claims)
		}

		// Spent: every use of the link now says so, and changes nothing.
		p := assertProblem(t, byLink(t, e, "", token, nil), http.StatusGone, "used")
		if p["decision"] != "approved" {
			t.Errorf("used link says decision %v; want approved", p["decision"])
		}
		assertProblem(t, byLink(t, e, "/deny", token, nil), http.StatusGone, "used")
		assertProblem(t, byLink(t, e, "/begin", token, nil), http.StatusGone, "used")
		if n := auditCount(t, e, s.UserID, oidc.EventCIBAApproved, "success", ""); n != 1 {
			t.Errorf("%d approvals recorded; want 1", n)
		}
		if n := auditCount(t, e, s.UserID, oidc.EventCIBADenied, "success", ""); n != 0 {
			t.Errorf("a spent link denied: %d denials recorded", n)
		}

		// English without ui_locales; the link denies without a passkey.
		denied := app.askOK(t, "ada@example.com", "Delete project Apollo", nil)
		m, token = approvalMail(t, e, "ada@example.com")
		if m.Subject != "Bank & Co asks you to approve: Delete project Apollo" || !strings.Contains(m.Text, "open this link") {
			t.Errorf("English mail: %q\n%s", m.Subject, m.Text)
		}
		if r := byLink(t, e, "/deny", token, nil); r.Status != http.StatusNoContent {
			t.Fatalf("deny by link = %d %s", r.Status, r.Body)
		}
		e.Clock.Advance(oidc.CIBAInterval)
		wantOAuthError(t, app.poll(t, denied), 400, "access_denied")
		if p := assertProblem(t, byLink(t, e, "", token, nil), http.StatusGone, "used"); p["decision"] != "denied" {
			t.Errorf("denied link says decision %v", p["decision"])
		}
	})
}

// TestApprovalLinkRefusals: a tampered or cut link token, a link past its
// request's expiry, a request answered on the account page, and a person
// without a passkey: each is refused with its own problem and leaves the
// request as it was. Nobody named gets no mail, and one person at most 20
// approval mails an hour.
func TestApprovalLinkRefusals(t *testing.T) {
	engines(t, listening, func(t *testing.T, e *testserver.Env) {
		s, authn := testauthn.SignUp(t, e, "ada@example.com")
		app := newCIBAApp(t, e, oidc.NewClient{CIBA: true})

		t.Run("tampered and cut", func(t *testing.T) {
			reqID := app.askOK(t, "ada@example.com", "Pay 10 EUR", nil)
			_, token := approvalMail(t, e, "ada@example.com")
			last := "A"
			if strings.HasSuffix(token, "A") {
				last = "B"
			}
			tampered := token[:len(token)-1] + last
			for _, path := range []string{"", "/begin", "/deny"} {
				assertProblem(t, byLink(t, e, path, tampered, nil), http.StatusNotFound, "not_found")
				assertProblem(t, byLink(t, e, path, token[:20], nil), http.StatusBadRequest, "bad_request")
				assertProblem(t, byLink(t, e, path, "", nil), http.StatusBadRequest, "bad_request")
			}
			e.Clock.Advance(oidc.CIBAInterval)
			wantOAuthError(t, app.poll(t, reqID), 400, "authorization_pending")
			if r := approveByLink(t, e, authn, token); r.Status != http.StatusNoContent {
				t.Fatalf("the true link no longer approves: %d %s", r.Status, r.Body)
			}
		})

		t.Run("expired", func(t *testing.T) {
			reqID := app.askOK(t, "ada@example.com", "Wire 5 EUR", url.Values{"requested_expiry": {"60"}})
			_, token := approvalMail(t, e, "ada@example.com")
			id := onlyApproval(t, e, s.Access, "Wire 5 EUR")
			c := testauthn.Begin(t, e, "/api/approvals/link/begin", map[string]any{"token": token})
			resp, err := authn.Get(c.PublicKey)
			if err != nil {
				t.Fatal(err)
			}
			e.Clock.Advance(61 * time.Second)
			assertProblem(t, byLink(t, e, "/approve", token, testauthn.Finish(c.ID, resp)), http.StatusGone, "expired")
			for _, path := range []string{"", "/begin", "/deny"} {
				assertProblem(t, byLink(t, e, path, token, nil), http.StatusGone, "expired")
			}
			wantOAuthError(t, app.poll(t, reqID), 400, "expired_token")
			if n := auditCount(t, e, s.UserID, oidc.EventCIBAExpired, "success", id); n != 1 {
				t.Errorf("%d expiry events; want 1", n)
			}
			if n := auditCount(t, e, s.UserID, oidc.EventCIBAApproved, "success", id); n != 0 {
				t.Errorf("an expired request was approved")
			}
		})

		t.Run("answered on the account page", func(t *testing.T) {
			app.askOK(t, "ada@example.com", "Close account", nil)
			_, token := approvalMail(t, e, "ada@example.com")
			deny(t, e, s.Access, onlyApproval(t, e, s.Access, "Close account"))
			if p := assertProblem(t, byLink(t, e, "/begin", token, nil), http.StatusGone, "used"); p["decision"] != "denied" {
				t.Errorf("decision %v; want denied", p["decision"])
			}
		})

		t.Run("no passkey: deny only", func(t *testing.T) {
			e.SignIn(t, "bob@example.com")
			reqID := app.askOK(t, "bob@example.com", "Approve login on TV", nil)
			_, token := approvalMail(t, e, "bob@example.com")
			assertProblem(t, byLink(t, e, "/begin", token, nil), http.StatusBadRequest, "bad_request")
			e.Clock.Advance(oidc.CIBAInterval)
			wantOAuthError(t, app.poll(t, reqID), 400, "authorization_pending")
			if r := byLink(t, e, "/deny", token, nil); r.Status != http.StatusNoContent {
				t.Fatalf("deny = %d %s", r.Status, r.Body)
			}
		})

		t.Run("mails capped per person", func(t *testing.T) {
			// Short requests one after another: the 21st within the hour is
			// made and answered alike, and waits on the account page, but
			// sends no mail.
			// The limit counts in clock hours: start a minute into one.
			next := e.Clock.Now().Truncate(time.Hour).Add(time.Hour + time.Minute)
			e.Clock.Advance(next.Sub(e.Clock.Now()))
			carol, _ := testauthn.SignUp(t, e, "carol@example.com")
			before := e.App.MailStats().Queued
			for i := range limit.ApprovalMailsPerUserHour.Max + 1 {
				app.askOK(t, "carol@example.com", fmt.Sprintf("Pay %d EUR", i+1), url.Values{"requested_expiry": {"1"}})
				if i < limit.ApprovalMailsPerUserHour.Max {
					e.Clock.Advance(2 * time.Second)
				}
			}
			if n := e.App.MailStats().Queued - before; n != uint64(limit.ApprovalMailsPerUserHour.Max) {
				t.Errorf("%d approval mails queued; want %d", n, limit.ApprovalMailsPerUserHour.Max)
			}
			last := fmt.Sprintf("Pay %d EUR", limit.ApprovalMailsPerUserHour.Max+1)
			onlyApproval(t, e, carol.Access, last)
		})

		t.Run("nobody gets no mail", func(t *testing.T) {
			before := e.App.MailStats().Queued
			app.askOK(t, "nobody@example.com", "Pay 1 EUR", nil)
			app.askOK(t, "ada@example.com", "Pay 2 EUR", nil)
			_, _ = approvalMail(t, e, "ada@example.com")
			if n := e.App.MailStats().Queued - before; n != 1 {
				t.Errorf("%d mails for two requests, one of them for nobody; want 1", n)
			}
		})
	})
}

// TestApprovalExpiryRecordedOnce: a request that expires unanswered is
// recorded once (ciba_expired), whichever finds it first — the app's poll,
// the sweeper, the link, or all of them at once — by the injected clock.
func TestApprovalExpiryRecordedOnce(t *testing.T) {
	engines(t, listening, func(t *testing.T, e *testserver.Env) {
		ctx := context.Background()
		s, _ := testauthn.SignUp(t, e, "ada@example.com")
		app := newCIBAApp(t, e, oidc.NewClient{CIBA: true})
		short := url.Values{"requested_expiry": {"60"}}
		polled := app.askOK(t, "ada@example.com", "Polled", short)
		_, _ = approvalMail(t, e, "ada@example.com")
		app.askOK(t, "ada@example.com", "Swept", short)
		_, sweptLink := approvalMail(t, e, "ada@example.com")
		ids := map[string]string{"Polled": onlyApproval(t, e, s.Access, "Polled"), "Swept": onlyApproval(t, e, s.Access, "Swept")}
		e.Clock.Advance(59 * time.Second)
		e.App.SweepOnce(ctx) // still live: nothing expires
		if n := auditCount(t, e, s.UserID, oidc.EventCIBAExpired, "success", ""); n != 0 {
			t.Fatalf("%d expiry events before expiry", n)
		}

		e.Clock.Advance(2 * time.Second)
		wantOAuthError(t, app.poll(t, polled), 400, "expired_token") // the poll finds Polled
		e.App.SweepOnce(ctx)                                         // the sweeper finds Swept
		e.App.SweepOnce(ctx)
		e.Clock.Advance(oidc.CIBAInterval)
		wantOAuthError(t, app.poll(t, polled), 400, "expired_token")
		assertProblem(t, byLink(t, e, "", sweptLink, nil), http.StatusGone, "expired")
		for name, id := range ids {
			if n := auditCount(t, e, s.UserID, oidc.EventCIBAExpired, "success", id); n != 1 {
				t.Errorf("%s: %d expiry events; want 1", name, n)
			}
		}

		// Found by many at once: still one event.
		raced := app.askOK(t, "ada@example.com", "Raced", short)
		_, racedLink := approvalMail(t, e, "ada@example.com")
		id := onlyApproval(t, e, s.Access, "Raced")
		e.Clock.Advance(61 * time.Second)
		var wg sync.WaitGroup
		for i := range 6 {
			wg.Go(func() {
				switch i % 3 {
				case 0:
					e.App.SweepOnce(ctx)
				case 1:
					byLink(t, e, "", racedLink, nil)
				default:
					app.poll(t, raced)
				}
			})
		}
		wg.Wait()
		if n := auditCount(t, e, s.UserID, oidc.EventCIBAExpired, "success", id); n != 1 {
			t.Errorf("raced: %d expiry events; want 1", n)
		}
	})
}

// idTokenClaims decodes a JWT's payload into v (the signature is checked
// by go-oidc in TestApprovalFlow).
func idTokenClaims(t *testing.T, jwt string, v any) {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("%q is not a JWT", jwt)
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil || json.Unmarshal(payload, v) != nil {
		t.Fatalf("JWT payload does not decode: %v", err)
	}
}
