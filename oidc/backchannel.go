package oidc

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/sesame-auth/sesame"
)

// delivery is one logout token on its way to a client.
type delivery struct {
	client sesame.OAuthClient
	grant  sesame.OAuthSessionGrant
}

// SessionsEnded is called whenever Sesame sessions of userID end, by any
// route (sign out, sign out everywhere, one session ended, refresh reuse,
// factor removal, account disabled or deleted). It revokes the grants of
// every ended session at once, and queues a Back-Channel Logout token for
// each client with a backchannel_logout_uri that held tokens of one
// (SECURITY rule 50). Delivery happens off the request path.
// A failure is logged: the session has ended whatever happens here, and
// the grants of an ended session verify as dead anyway.
func (p *Provider) SessionsEnded(ctx context.Context, userID string) {
	grants, err := p.cfg.Store.RevokeEndedSessionGrants(ctx, userID, p.cfg.Now())
	if err != nil {
		p.cfg.Logger.Error("revoke client grants of ended sessions", "user", userID, "err", err)
		return
	}
	p.logoutApps(ctx, grants)
}

// logoutApps queues a logout token for each app and session among grants.
func (p *Provider) logoutApps(ctx context.Context, grants []sesame.OAuthSessionGrant) {
	seen := map[string]bool{}
	for _, g := range grants {
		key := g.ClientID + " " + g.SessionID
		if seen[key] {
			continue
		}
		seen[key] = true
		c, err := p.cfg.Store.OAuthClientByID(ctx, g.ClientID)
		if err != nil || c.BackchannelLogoutURI == "" {
			continue
		}
		select {
		case p.backlog <- delivery{client: c, grant: g}:
		default:
			p.cfg.Logger.Warn("back-channel logout queue full: dropped", "client", c.ID)
			p.record(ctx, sesame.AuditEvent{Event: EventLogoutFailed, Result: "queue_full", UserID: g.UserID, Detail: "client " + c.ID})
		}
	}
}

// deliver sends queued logout tokens until Close, two at a time.
func (p *Provider) deliver() {
	defer close(p.done)
	sem := make(chan struct{}, 2)
	for {
		select {
		case <-p.stop:
			// What is still queued gets one try each (a command-line
			// process closes right after queueing), then the sender waits
			// for the deliveries under way.
		drain:
			for {
				select {
				case d := <-p.backlog:
					sem <- struct{}{}
					go func() {
						defer func() { <-sem }()
						p.send(d)
					}()
				default:
					break drain
				}
			}
			for range cap(sem) {
				sem <- struct{}{}
			}
			return
		case d := <-p.backlog:
			sem <- struct{}{}
			go func() {
				defer func() { <-sem }()
				p.send(d)
			}()
		}
	}
}

// send posts one logout token, retrying with growing delays; each attempt
// has the HTTP client's 5 s timeout.
func (p *Provider) send(d delivery) {
	ctx := context.Background()
	delay := p.cfg.RetryDelay
	var last error
	for attempt := 0; attempt <= p.cfg.Retries; attempt++ {
		if attempt > 0 {
			select {
			case <-time.After(delay):
			case <-p.stop:
				attempt = p.cfg.Retries // one last try, then give up
			}
			delay *= 2
		}
		if last = p.post(ctx, d); last == nil {
			p.record(ctx, sesame.AuditEvent{Event: EventLogoutDelivered, Result: "success", UserID: d.grant.UserID, Detail: "client " + d.client.ID})
			return
		}
	}
	p.cfg.Logger.Warn("back-channel logout not delivered", "client", d.client.ID, "err", last)
	p.record(ctx, sesame.AuditEvent{Event: EventLogoutFailed, Result: "unreachable", UserID: d.grant.UserID, Detail: "client " + d.client.ID})
}

func (p *Provider) post(ctx context.Context, d delivery) error {
	tok, err := p.logoutToken(ctx, d.client, d.grant)
	if err != nil {
		return err
	}
	body := url.Values{"logout_token": {tok}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.client.BackchannelLogoutURI, strings.NewReader(body))
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
