package oidc

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"runtime/debug"
	"strings"
	"time"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/internal/retry"
)

// Back-Channel Logout (SECURITY rule 50) is durable: ending a session
// queues, in the transaction that revokes its grants, one delivery per app
// and session in the database (the logout outbox). A worker in every
// instance claims due deliveries with one conditional UPDATE (so two
// instances never send one at the same time), signs a fresh logout token
// and posts it with a 5 s timeout; a failure is tried again after a
// growing wait, across restarts, until LogoutAttempts tries have failed,
// which is audited as oidc_backchannel_logout_failed.

// Defaults of the logout outbox's timings (Config).
const (
	DefaultLogoutAttempts   = 8
	DefaultLogoutBackoff    = 5 * time.Second
	DefaultLogoutMaxBackoff = 10 * time.Minute
	DefaultLogoutPoll       = 5 * time.Second
	// logoutTimeout bounds one post; logoutLease exceeds it, so a
	// delivery is never sent by two workers at once unless one died.
	logoutTimeout = 5 * time.Second
	logoutLease   = 30 * time.Second
	logoutBatch   = 4
	storeTimeout  = 5 * time.Second
)

// SessionsEnded is called whenever Sesame sessions of userID end, by any
// route (sign out, sign out everywhere, one session ended, refresh reuse,
// factor removal, account disabled or deleted). It revokes the grants of
// every ended session at once and queues a Back-Channel Logout delivery
// for each client with a backchannel_logout_uri that held tokens of one;
// the sender delivers them off the request path. A failure is logged: the
// session has ended whatever happens here, and the grants of an ended
// session verify as dead anyway.
func (p *Provider) SessionsEnded(ctx context.Context, userID string) {
	n, err := p.cfg.Store.RevokeEndedSessionGrants(ctx, userID, p.cfg.Now())
	if err != nil {
		p.cfg.Logger.Error("revoke client grants of ended sessions", "user", userID, "err", err)
		return
	}
	if n > 0 {
		p.wakeSender()
	}
}

func (p *Provider) wakeSender() {
	select {
	case p.wake <- struct{}{}:
	default: // a wake-up is already pending
	}
}

// sender delivers due logout tokens until Close: at once when woken, else
// every LogoutPoll; after a full batch, straight away again. Closing, it
// makes one last round, so a command-line process that ended sessions
// delivers before it exits (what fails stays queued for a server).
func (p *Provider) sender() {
	defer close(p.done)
	poll := time.NewTicker(p.cfg.LogoutPoll)
	defer poll.Stop()
	for {
		select {
		case <-p.stop:
			p.round()
			return
		case <-p.wake:
		case <-poll.C:
		}
		for p.round() == logoutBatch {
			select {
			case <-p.stop:
				return
			default:
			}
		}
	}
}

// round claims up to logoutBatch due deliveries, sends them at once and
// returns how many it claimed.
func (p *Provider) round() int {
	now := p.cfg.Now()
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	batch, err := p.cfg.Store.ClaimOAuthLogouts(ctx, now, now.Add(logoutLease), logoutBatch)
	cancel()
	if err != nil {
		p.claims.Failed(err)
		return 0
	}
	p.claims.Succeeded()
	return retry.Each(batch, p.send)
}

var errNoLogoutURI = errors.New("the client is gone or takes no back-channel logout")

// send makes one attempt at a claimed delivery and records the outcome:
// delivered, tried again later, or given up after LogoutAttempts tries.
func (p *Provider) send(d sesame.OAuthLogoutDelivery) {
	defer func() {
		if r := recover(); r != nil {
			p.cfg.Logger.Error("back-channel logout sender panicked", "client", d.ClientID, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
		}
	}()
	ctx := context.Background()
	err := p.post(ctx, d)
	finish := func(status string) {
		ctx, cancel := context.WithTimeout(ctx, storeTimeout)
		defer cancel()
		if err := p.cfg.Store.FinishOAuthLogout(ctx, d.ClientID, d.SessionID, status, p.cfg.Now()); err != nil {
			// The lease runs out and the delivery is made again.
			p.cfg.Logger.Warn("back-channel logout outbox: cannot record the outcome", "client", d.ClientID, "status", status, "err", err)
		}
	}
	// The audit record comes first: once the row says finished, the
	// record is there.
	switch {
	case err == nil:
		p.record(ctx, sesame.AuditEvent{Event: EventLogoutDelivered, Result: "success", UserID: d.UserID, Detail: "client " + d.ClientID})
		finish(sesame.LogoutDelivered)
	case errors.Is(err, errNoLogoutURI) || d.Attempts >= p.cfg.LogoutAttempts:
		p.cfg.Logger.Warn("back-channel logout not delivered: giving up", "client", d.ClientID, "attempts", d.Attempts, "err", err)
		p.record(ctx, sesame.AuditEvent{Event: EventLogoutFailed, Result: "unreachable", UserID: d.UserID,
			Detail: fmt.Sprintf("client %s after %d attempts", d.ClientID, d.Attempts)})
		finish(sesame.LogoutFailed)
	default:
		next := p.cfg.Now().Add(retry.Backoff(p.cfg.LogoutBackoff, p.cfg.LogoutMaxBackoff, d.Attempts))
		p.cfg.Logger.Info("back-channel logout not delivered: will try again", "client", d.ClientID, "attempt", d.Attempts, "next", next, "err", err)
		ctx, cancel := context.WithTimeout(ctx, storeTimeout)
		defer cancel()
		if err := p.cfg.Store.RetryOAuthLogout(ctx, d.ClientID, d.SessionID, next); err != nil {
			p.cfg.Logger.Warn("back-channel logout outbox: cannot schedule a retry", "client", d.ClientID, "err", err)
		}
	}
}

// post signs a fresh logout token for d and posts it to the client.
func (p *Provider) post(ctx context.Context, d sesame.OAuthLogoutDelivery) error {
	c, err := p.cfg.Store.OAuthClientByID(ctx, d.ClientID)
	if errors.Is(err, sesame.ErrNotFound) || (err == nil && c.BackchannelLogoutURI == "") {
		return errNoLogoutURI
	} else if err != nil {
		return err
	}
	tok, err := p.logoutToken(ctx, c, d)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, logoutTimeout)
	defer cancel()
	body := url.Values{"logout_token": {tok}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.BackchannelLogoutURI, strings.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := p.cfg.HTTPClient.Do(req)
	if err != nil {
		return err
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK && res.StatusCode != http.StatusNoContent {
		return fmt.Errorf("status %d", res.StatusCode)
	}
	return nil
}
