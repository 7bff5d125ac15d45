package server_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/internal/testauthn"
	"github.com/sesame-auth/sesame/internal/testserver"
	"github.com/sesame-auth/sesame/oidc"
)

// deliveryOf returns the logout outbox row of client, waiting up to 15 s
// for ok to hold of it.
func deliveryOf(t *testing.T, e *testserver.Env, clientID string, ok func(sesame.OAuthLogoutDelivery) bool) sesame.OAuthLogoutDelivery {
	t.Helper()
	var last sesame.OAuthLogoutDelivery
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		all, err := e.App.DB.OAuthLogoutDeliveries(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		i := slices.IndexFunc(all, func(d sesame.OAuthLogoutDelivery) bool { return d.ClientID == clientID })
		if i >= 0 {
			if last = all[i]; ok(last) {
				return last
			}
		}
	}
	t.Fatalf("logout delivery to %s: last seen %+v", clientID, last)
	return last
}

// closedAddr is a local address where nothing listens.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestOIDCBackchannelLogoutIsDurable is rule 50's delivery: the app is
// down when the Sesame session ends; the logout token waits in the
// database through a restart of Sesame, and once the app is up it arrives
// and verifies (signature from the JWKS, typ, iss, aud, iat, jti, events,
// sid, sub, no nonce), delivered once. An app that never comes back is
// given up after oidc.DefaultLogoutAttempts tries, audited as
// oidc_backchannel_logout_failed. Finished deliveries are then swept.
func TestOIDCBackchannelLogoutIsDurable(t *testing.T) {
	engines(t, listening, func(t *testing.T, e *testserver.Env) {
		addr := closedAddr(t) // the app listens there later
		_, a := testauthn.SignUp(t, e, "pat@example.com")
		s := testauthn.SignIn(t, e, a, "")
		rp := newRP(t, e, oidc.NewClient{Name: "Wiki", Trusted: true, BackchannelLogoutURI: "http://" + addr + "/bc"})
		f, code := codeFor(t, rp, s.Access, nil)
		rp.exchange(t, f, code)
		if r := e.Do(t, "POST", "/api/session/logout-all", nil, testserver.Bearer(s.Access)); r.Status != http.StatusNoContent {
			t.Fatalf("logout-all = %d", r.Status)
		}
		// The first try finds the app down: the delivery waits, queued.
		deliveryOf(t, e, rp.client.ID, func(d sesame.OAuthLogoutDelivery) bool {
			return d.Attempts >= 1 && d.Status == sesame.LogoutQueued
		})

		// Sesame restarts on the same database; then the app comes up.
		e.App.Close()
		e2 := testserver.New(t, testserver.Options{Listen: true, Database: e.Database, Secret: e.Secret})
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			t.Fatalf("the app cannot listen again on %s: %v", addr, err)
		}
		bc := &backchannelRP{tokens: make(chan string, 16)}
		app := &http.Server{Handler: bc.handler(), ReadHeaderTimeout: 5 * time.Second}
		go func() { _ = app.Serve(ln) }()
		t.Cleanup(func() { app.Close() })
		after := *rp
		after.e = e2
		c := bc.receiveAdvancing(t, e2, &after) // the retry comes due
		if c.Sid != sessionID(t, s.Access) || c.Sub != s.UserID {
			t.Fatalf("logout token sid %q sub %q; want %q and %q", c.Sid, c.Sub, sessionID(t, s.Access), s.UserID)
		}
		deliveryOf(t, e2, rp.client.ID, func(d sesame.OAuthLogoutDelivery) bool { return d.Status == sesame.LogoutDelivered })
		e2.Clock.Advance(time.Hour)
		time.Sleep(200 * time.Millisecond)
		if n := bc.attempts.Load(); n != 1 {
			t.Fatalf("the app got %d posts; want the token once", n)
		}

		// An app that never answers: given up after the last try, audited.
		s2 := e2.SignIn(t, "pat@example.com") // by email: the passkey is bound to the first instance's origin
		dead := newRP(t, e2, oidc.NewClient{Name: "Gone", Trusted: true, BackchannelLogoutURI: "http://" + closedAddr(t) + "/bc"})
		f, code = codeFor(t, dead, s2.Access, nil)
		dead.exchange(t, f, code)
		if r := e2.Do(t, "POST", "/api/session/logout-all", nil, testserver.Bearer(s2.Access)); r.Status != http.StatusNoContent {
			t.Fatalf("logout-all = %d", r.Status)
		}
		// Each turn moves the clock past the longest backoff, so every
		// retry comes due.
		d := deliveryOf(t, e2, dead.client.ID, func(d sesame.OAuthLogoutDelivery) bool {
			e2.Clock.Advance(15 * time.Minute)
			return d.Status == sesame.LogoutFailed
		})
		if d.Attempts != oidc.DefaultLogoutAttempts {
			t.Errorf("given up after %d tries; want %d", d.Attempts, oidc.DefaultLogoutAttempts)
		}
		events, err := e2.App.DB.AuditEvents(context.Background(), s.UserID, 100)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.ContainsFunc(events, func(ev sesame.AuditEvent) bool {
			return ev.Event == oidc.EventLogoutFailed && strings.Contains(ev.Detail, dead.client.ID)
		}) {
			t.Errorf("no %s audit event for %s: %+v", oidc.EventLogoutFailed, dead.client.ID, events)
		}
		if !slices.ContainsFunc(events, func(ev sesame.AuditEvent) bool {
			return ev.Event == oidc.EventLogoutDelivered && strings.Contains(ev.Detail, rp.client.ID)
		}) {
			t.Errorf("no %s audit event for %s", oidc.EventLogoutDelivered, rp.client.ID)
		}

		// Finished deliveries are swept like other spent rows.
		if _, _, err := e2.App.DB.SweepExpired(context.Background(), e2.Clock.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if left, err := e2.App.DB.OAuthLogoutDeliveries(context.Background()); err != nil || len(left) != 0 {
			t.Errorf("after the sweep: %+v, %v; want no finished delivery kept", left, err)
		}
	})
}

// TestOIDCBackchannelLogoutOnceAcrossInstances: two instances on one
// database both read the logout outbox; each of ten apps of an ended
// session gets its logout token exactly once (the claim is one
// conditional UPDATE).
func TestOIDCBackchannelLogoutOnceAcrossInstances(t *testing.T) {
	engines(t, listening, func(t *testing.T, e *testserver.Env) {
		// A second instance, whose sender races the first one's.
		testserver.New(t, testserver.Options{Listen: true, Database: e.Database, Secret: e.Secret})
		bc := newBackchannelRP(t, 0)
		_, a := testauthn.SignUp(t, e, "quinn@example.com")
		s := testauthn.SignIn(t, e, a, "")
		const apps = 10
		for i := range apps {
			rp := newRP(t, e, oidc.NewClient{Name: "App " + string(rune('A'+i)), Trusted: true, BackchannelLogoutURI: bc.srv.URL + "/bc"})
			f, code := codeFor(t, rp, s.Access, nil)
			rp.exchange(t, f, code)
		}
		if r := e.Do(t, "POST", "/api/session/logout-all", nil, testserver.Bearer(s.Access)); r.Status != http.StatusNoContent {
			t.Fatalf("logout-all = %d", r.Status)
		}
		seen := map[string]int{}
		for range apps {
			select {
			case raw := <-bc.tokens:
				seen[audienceOf(t, raw)]++
			case <-time.After(15 * time.Second):
				t.Fatalf("%d logout tokens arrived; want %d", len(seen), apps)
			}
		}
		time.Sleep(600 * time.Millisecond) // two poll intervals of each instance
		if n := bc.attempts.Load(); len(seen) != apps || n != apps {
			t.Fatalf("%d posts for %d apps (%v); want each app's token once", n, len(seen), seen)
		}
	})
}

// audienceOf reads the aud of a JWT without verifying it.
func audienceOf(t *testing.T, raw string) string {
	t.Helper()
	var c struct {
		Aud string `json:"aud"`
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.Split(raw, ".")[1])
	if err != nil || json.Unmarshal(payload, &c) != nil {
		t.Fatalf("not a JWT: %q", raw)
	}
	return c.Aud
}

// TestOIDCBackchannelLogoutFollowsNoRedirect: an app's back-channel
// logout URI that answers 307 elsewhere does not send the logout token
// there; the delivery counts as not answered and is retried at the
// registered URI only.
func TestOIDCBackchannelLogoutFollowsNoRedirect(t *testing.T) {
	e := testserver.New(t, listening)
	elsewhere := &backchannelRP{tokens: make(chan string, 16)}
	other := &http.Server{Handler: elsewhere.handler(), ReadHeaderTimeout: 5 * time.Second}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = other.Serve(ln) }()
	t.Cleanup(func() { other.Close() })
	var redirects atomic.Int32
	redirector := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		redirects.Add(1)
		http.Redirect(w, r, "http://"+ln.Addr().String()+"/bc", http.StatusTemporaryRedirect)
	})}
	rln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = redirector.Serve(rln) }()
	t.Cleanup(func() { redirector.Close() })

	_, a := testauthn.SignUp(t, e, "rex@example.com")
	s := testauthn.SignIn(t, e, a, "")
	rp := newRP(t, e, oidc.NewClient{Name: "Moved", Trusted: true, BackchannelLogoutURI: "http://" + rln.Addr().String() + "/bc"})
	f, code := codeFor(t, rp, s.Access, nil)
	rp.exchange(t, f, code)
	if r := e.Do(t, "POST", "/api/session/logout-all", nil, testserver.Bearer(s.Access)); r.Status != http.StatusNoContent {
		t.Fatalf("logout-all = %d", r.Status)
	}
	// The redirect is not followed and not taken for an answer: the
	// registered URI is tried again (a followed redirect would have
	// delivered, and never retried).
	for deadline := time.Now().Add(15 * time.Second); redirects.Load() < 2; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d tries at the registered URI; want a retry after the redirect", redirects.Load())
		}
		e.Clock.Advance(time.Minute)
	}
	if d := deliveryOf(t, e, rp.client.ID, func(sesame.OAuthLogoutDelivery) bool { return true }); d.Status == sesame.LogoutDelivered {
		t.Fatalf("delivery %+v; want not delivered", d)
	}
	if n := elsewhere.attempts.Load(); n != 0 {
		t.Fatalf("the redirect target got %d posts; want none", n)
	}
}
