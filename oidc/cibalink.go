package oidc

// The approval link emailed to the person (/approve#t=…). Its token, kept
// only as SHA-256, lets whoever holds the mail see the request (the app's
// name and the message from the server, never from the link), deny it,
// and start the passkey assertion that approves it: holding the mail
// alone approves nothing (SECURITY rule 61). A decision made through the
// link spends it in the same conditional UPDATE; once the request is
// answered in any way, or has expired, the link only says so.

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"time"

	"github.com/sesame-auth/sesame"
)

var (
	errLinkMalformed = sesame.Errorf(sesame.EBadRequest, "This link is not valid. Copy the whole link from the email.")
	errLinkUnknown   = sesame.Errorf(sesame.ENotFound, "This approval link is not known: it may be mistyped, or the request is long gone.")
	errLinkExpired   = sesame.Errorf(sesame.EExpired, "This request has expired. Ask the app again if you still want to go ahead.")
)

// errAnswered says the request was answered already, and how.
func errAnswered(status string) error {
	return &sesame.Error{Code: sesame.EUsed, Message: "This request was answered already.", Extra: map[string]any{"decision": status}}
}

func linkHash(token string) ([]byte, error) {
	if b, err := base64.RawURLEncoding.DecodeString(token); err != nil || len(b) != 32 {
		return nil, errLinkMalformed
	}
	return hashCode(token), nil
}

// byLink returns the live pending request of a link token, or why there
// is none: bad_request (not a token), not_found (no such link), expired,
// or used (answered, with its decision).
func (p *Provider) byLink(ctx context.Context, token string) (sesame.CIBARequest, []byte, error) {
	hash, err := linkHash(token)
	if err != nil {
		return sesame.CIBARequest{}, nil, err
	}
	r, err := p.cfg.CIBA.CIBARequestByLink(ctx, hash)
	switch {
	case errors.Is(err, sesame.ErrNotFound):
		return r, hash, errLinkUnknown
	case err != nil:
		return r, hash, err
	case r.Status == sesame.CIBAPending && !p.cfg.Now().Before(r.ExpiresAt):
		p.expire(ctx, r)
		return r, hash, errLinkExpired
	case r.Status == sesame.CIBAExpired:
		return r, hash, errLinkExpired
	case r.Status != sesame.CIBAPending:
		return r, hash, errAnswered(r.Status)
	}
	return r, hash, nil
}

// ApprovalByLink is the request an approval link shows. It changes
// nothing, so a mail scanner that opens the link spends nothing.
func (p *Provider) ApprovalByLink(ctx context.Context, token string) (sesame.CIBARequest, error) {
	r, _, err := p.byLink(ctx, token)
	return r, err
}

// BeginApprovalByLink starts the passkey assertion that approves the
// link's request, limited to its person's own credentials, over a
// challenge bound to the request and its message.
func (p *Provider) BeginApprovalByLink(ctx context.Context, token string) (string, json.RawMessage, error) {
	r, _, err := p.byLink(ctx, token)
	if err != nil {
		return "", nil, err
	}
	u, err := p.cfg.Users.UserByID(ctx, r.UserID)
	if errors.Is(err, sesame.ErrNotFound) || (err == nil && !u.Active()) {
		return "", nil, errLinkUnknown
	} else if err != nil {
		return "", nil, err
	}
	return p.cfg.Passkeys.BeginApproval(ctx, u, approvalChallenge(sesame.RandomBytes(16), r))
}

// ApproveByLink finishes the approval begun by BeginApprovalByLink: the
// assertion must be the request's person's and cover this request and
// message; the request is approved and the link spent by one conditional
// UPDATE.
func (p *Provider) ApproveByLink(ctx context.Context, token, ceremonyID string, credential []byte) error {
	r, hash, err := p.byLink(ctx, token)
	if err != nil {
		return err
	}
	return p.approve(ctx, r, ceremonyID, credential, "link", func(amr []string, now time.Time) error {
		return p.cfg.CIBA.DecideCIBARequestByLink(ctx, hash, sesame.CIBAApproved, amr, now)
	})
}

// DenyByLink refuses the link's request and spends the link. Holding the
// mail is enough to say no.
func (p *Provider) DenyByLink(ctx context.Context, token string) error {
	r, hash, err := p.byLink(ctx, token)
	if err != nil {
		return err
	}
	if err := p.cfg.CIBA.DecideCIBARequestByLink(ctx, hash, sesame.CIBADenied, nil, p.cfg.Now()); errors.Is(err, sesame.ErrNotFound) {
		_, _, why := p.byLink(ctx, token) // answered or expired meanwhile
		return cmpErr(why, errApprovalGone)
	} else if err != nil {
		return err
	}
	p.record(ctx, sesame.AuditEvent{Event: EventCIBADenied, Result: "success", UserID: r.UserID, Method: "email_link",
		Detail: "client " + r.ClientID + " request " + r.ID + " via link"})
	return nil
}

// cmpErr is err, or fallback when err is nil.
func cmpErr(err, fallback error) error {
	if err != nil {
		return err
	}
	return fallback
}
