package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/sesame-auth/sesame/internal/virtualauthn"
)

// The operations a virtual user mixes, and the set-up ones.
const (
	opPasskey  = "passkey"  // discoverable passkey sign-in: begin + finish
	opEmail    = "email"    // email-code sign-in: start, the code from the sink, verify
	opRefresh  = "refresh"  // refresh-token rotation
	opMe       = "me"       // GET /api/me with a Bearer token
	opSignup   = "signup"   // set-up: a new account by email code
	opRegister = "register" // set-up: a passkey added to it
	opLogout   = "logout"   // with -logout: the session a new sign-in replaces, ended
)

var mixOps = []string{opPasskey, opEmail, opRefresh, opMe, opOIDC}

// account is one user of the server with the authenticator holding its
// passkey.
type account struct {
	email string
	auth  *virtualauthn.Authenticator
	// access is the latest access token of the account's newest session.
	access string
}

// vu is a virtual user: one goroutine that signs its accounts up, then
// loops the mix. Not safe for concurrent use.
type vu struct {
	c        *client
	codes    codes
	stats    *stats
	origin   string
	accounts []*account
	next     int         // the account the next sign-in is for
	cur      session     // the session refresh and me use
	curAcct  *account    // whose session cur is
	logout   bool        // end an account's previous session when it signs in again
	app      *oidcClient // the app of the oidc operation; nil without -oidc-client
	rng      *rand.Rand
	timeout  time.Duration
}

// setup signs every account up by email code and registers a passkey for
// it; the last account's session becomes the current one.
func (u *vu) setup(ctx context.Context) error {
	for _, a := range u.accounts {
		start := time.Now()
		s, err := u.emailSignIn(ctx, a.email)
		if u.done(ctx, opSignup, start, err) != nil {
			return fmt.Errorf("sign up %s: %w", a.email, err)
		}
		u.use(ctx, a, s)
		start = time.Now()
		err = u.register(ctx, a)
		if u.done(ctx, opRegister, start, err) != nil {
			return fmt.Errorf("register a passkey for %s: %w", a.email, err)
		}
	}
	return nil
}

// loop runs operations picked by weight until ctx ends, one every
// interval if that is not 0 (an operation that takes longer delays the
// next, without catching up), else back to back.
func (u *vu) loop(ctx context.Context, m mix, every time.Duration) {
	var next time.Time
	if every > 0 { // spread the users' first operations over one interval
		next = time.Now().Add(time.Duration(u.rng.Int64N(int64(every))))
	}
	for ctx.Err() == nil {
		if every > 0 {
			if d := time.Until(next); d > 0 {
				select {
				case <-time.After(d):
				case <-ctx.Done():
					return
				}
			}
			next = next.Add(every)
			if now := time.Now(); next.Before(now) {
				next = now
			}
		}
		op := m.pick(u.rng)
		start := time.Now()
		var err error
		var signedIn *account // and its new session, s
		var s session
		switch op {
		case opPasskey:
			signedIn, s, err = u.passkeySignIn(ctx)
		case opEmail:
			signedIn = u.accounts[u.next]
			u.next = (u.next + 1) % len(u.accounts)
			s, err = u.emailSignIn(ctx, signedIn.email)
		case opRefresh:
			err = u.refresh(ctx)
		case opMe:
			if time.Since(u.cur.issuedAt) > 5*time.Minute { // access tokens live 10
				start2 := time.Now()
				u.done(ctx, opRefresh, start2, u.refresh(ctx))
				start = time.Now()
			}
			_, err = u.c.call(ctx, "GET", "/api/me", nil, http.StatusOK, nil, bearer(u.cur.access))
		case opOIDC:
			err = u.oidcLogin(ctx)
		}
		failed := u.done(ctx, op, start, err) != nil
		if !failed && signedIn != nil {
			u.use(ctx, signedIn, s)
		}
		if failed && (op == opRefresh || op == opMe || op == opOIDC) {
			// A lost session (revoked, expired) would fail every later
			// refresh and me: sign in again.
			start := time.Now()
			a, s, err := u.passkeySignIn(ctx)
			if u.done(ctx, opPasskey, start, err) == nil {
				u.use(ctx, a, s)
			}
		}
	}
}

// done records an operation that began at start, unless it failed because
// the run ended; it returns err.
func (u *vu) done(ctx context.Context, op string, start time.Time, err error) error {
	if err != nil && ctx.Err() != nil {
		return err
	}
	u.stats.record(op, time.Since(start), err)
	return err
}

// emailSignIn signs email in (up, if new) with the emailed code.
func (u *vu) emailSignIn(ctx context.Context, email string) (session, error) {
	u.codes.Forget(email)
	var flow struct {
		FlowID string `json:"flow_id"`
	}
	if _, err := u.c.call(ctx, "POST", "/api/email/start", map[string]string{"email": email}, http.StatusAccepted, &flow); err != nil {
		return session{}, err
	}
	wait, cancel := context.WithTimeout(ctx, u.timeout)
	code, err := u.codes.Code(wait, email)
	cancel()
	if err != nil {
		return session{}, err
	}
	return u.c.sessionCall(ctx, "/api/email/verify", map[string]string{"flow_id": flow.FlowID, "code": code})
}

// register adds a passkey from a new authenticator to a, signed in as
// u.cur.
func (u *vu) register(ctx context.Context, a *account) error {
	a.auth = virtualauthn.New(u.origin)
	var c ceremony
	if _, err := u.c.call(ctx, "POST", "/api/webauthn/register/begin", rawJSON("{}"), http.StatusOK, &c, bearer(u.cur.access)); err != nil {
		return err
	}
	cred, err := a.auth.Create(c.PublicKey)
	if err != nil {
		return err
	}
	_, err = u.c.call(ctx, "POST", "/api/webauthn/register/finish", finishBody(c.ID, cred), http.StatusCreated, nil, bearer(u.cur.access))
	return err
}

// passkeySignIn signs the next account in with its passkey, discoverably
// (no email).
func (u *vu) passkeySignIn(ctx context.Context) (*account, session, error) {
	a := u.accounts[u.next]
	u.next = (u.next + 1) % len(u.accounts)
	if a.auth == nil {
		return a, session{}, errors.New("account has no passkey")
	}
	begin, err := u.c.callRaw(ctx, "POST", "/api/webauthn/login/begin", rawJSON("{}"), http.StatusOK)
	if err != nil {
		return a, session{}, err
	}
	id, assertion, err := u.c.assert(a.auth, begin.body)
	if err != nil {
		return a, session{}, fmt.Errorf("login/begin: %w", err)
	}
	s, err := u.c.sessionCall(ctx, "/api/webauthn/login/finish", finishBody(id, assertion))
	return a, s, err
}

// use makes s, a new session of a, the current one. With -logout, a's
// previous session is ended first, as a client that keeps one session per
// device does; without, sessions pile up per account, and with them the
// cost of listing them (/api/me) and of the new-device check.
func (u *vu) use(ctx context.Context, a *account, s session) {
	if u.logout && a.access != "" {
		start := time.Now()
		_, err := u.c.call(ctx, "POST", "/api/session/logout", nil, http.StatusNoContent, nil, bearer(a.access))
		u.done(ctx, opLogout, start, err)
	}
	a.access = s.access
	u.cur, u.curAcct = s, a
}

// refresh rotates the current session's refresh token.
func (u *vu) refresh(ctx context.Context) error {
	s, err := u.c.sessionCall(ctx, "/api/session/refresh", nil, refreshCookie(u.cur.refresh))
	if err != nil {
		return err
	}
	u.cur = s
	if u.curAcct != nil {
		u.curAcct.access = s.access
	}
	return nil
}
