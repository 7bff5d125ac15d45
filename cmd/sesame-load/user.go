package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/sesame-auth/sesame/internal/testauthn"
)

// The operations a virtual user mixes, and the set-up ones.
const (
	opPasskey  = "passkey"  // discoverable passkey sign-in: begin + finish
	opEmail    = "email"    // email-code sign-in: start, the code from the sink, verify
	opRefresh  = "refresh"  // refresh-token rotation
	opMe       = "me"       // GET /api/me with a Bearer token
	opSignup   = "signup"   // set-up: a new account by email code
	opRegister = "register" // set-up: a passkey added to it
)

var mixOps = []string{opPasskey, opEmail, opRefresh, opMe}

// account is one user of the server with the authenticator holding its
// passkey.
type account struct {
	email string
	auth  *testauthn.Authenticator
}

// vu is a virtual user: one goroutine that signs its accounts up, then
// loops the mix. Not safe for concurrent use.
type vu struct {
	c        *client
	codes    codes
	stats    *stats
	origin   string
	accounts []*account
	next     int     // the account the next sign-in is for
	cur      session // the session refresh and me use
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
		u.cur = s
		start = time.Now()
		err = u.register(ctx, a)
		if u.done(ctx, opRegister, start, err) != nil {
			return fmt.Errorf("register a passkey for %s: %w", a.email, err)
		}
	}
	return nil
}

// loop runs operations picked by weight until ctx ends.
func (u *vu) loop(ctx context.Context, m mix) {
	for ctx.Err() == nil {
		op := m.pick(u.rng)
		start := time.Now()
		var err error
		switch op {
		case opPasskey:
			err = u.passkeySignIn(ctx)
		case opEmail:
			a := u.accounts[u.next]
			u.next = (u.next + 1) % len(u.accounts)
			var s session
			if s, err = u.emailSignIn(ctx, a.email); err == nil {
				u.cur = s
			}
		case opRefresh:
			err = u.refresh(ctx)
		case opMe:
			if time.Since(u.cur.issuedAt) > 5*time.Minute { // access tokens live 10
				start2 := time.Now()
				u.done(ctx, opRefresh, start2, u.refresh(ctx))
				start = time.Now()
			}
			_, err = u.c.call(ctx, "GET", "/api/me", nil, http.StatusOK, nil, bearer(u.cur.access))
		}
		if u.done(ctx, op, start, err) != nil && (op == opRefresh || op == opMe) {
			// A lost session (revoked, expired) would fail every later
			// refresh and me: sign in again.
			start := time.Now()
			u.done(ctx, opPasskey, start, u.passkeySignIn(ctx))
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
	a.auth = testauthn.New(u.origin)
	var c ceremony
	if _, err := u.c.call(ctx, "POST", "/api/webauthn/register/begin", map[string]any{}, http.StatusOK, &c, bearer(u.cur.access)); err != nil {
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
// (no email), and makes the session current.
func (u *vu) passkeySignIn(ctx context.Context) error {
	a := u.accounts[u.next]
	u.next = (u.next + 1) % len(u.accounts)
	if a.auth == nil {
		return errors.New("account has no passkey")
	}
	var c ceremony
	if _, err := u.c.call(ctx, "POST", "/api/webauthn/login/begin", map[string]any{}, http.StatusOK, &c); err != nil {
		return err
	}
	assertion, err := a.auth.Get(c.PublicKey)
	if err != nil {
		return err
	}
	s, err := u.c.sessionCall(ctx, "/api/webauthn/login/finish", finishBody(c.ID, assertion))
	if err != nil {
		return err
	}
	u.cur = s
	return nil
}

// refresh rotates the current session's refresh token.
func (u *vu) refresh(ctx context.Context) error {
	s, err := u.c.sessionCall(ctx, "/api/session/refresh", nil, refreshCookie(u.cur.refresh))
	if err != nil {
		return err
	}
	u.cur = s
	return nil
}
