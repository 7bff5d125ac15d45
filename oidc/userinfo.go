package oidc

import (
	"context"
	"errors"
	"strings"

	"github.com/sesame-auth/sesame"
)

func invalidToken() *Error {
	return &Error{Code: "invalid_token", Description: "The access token is invalid or has expired.", Status: 401,
		Challenge: `Bearer error="invalid_token"`}
}

// UserInfo answers the userinfo endpoint for a client access token: the
// claims its scopes release (OpenID Connect Core §5.3).
func (p *Provider) UserInfo(ctx context.Context, accessToken string) (map[string]any, error) {
	if accessToken == "" {
		return nil, &Error{Code: "invalid_request", Description: "Send the access token as a Bearer token.", Status: 401, Challenge: `Bearer`}
	}
	c, g, err := p.verifyAccess(ctx, accessToken)
	if errors.Is(err, errBadToken) {
		return nil, invalidToken()
	} else if err != nil {
		return nil, err
	}
	if !strings.Contains(" "+c.Scope+" ", " openid ") {
		return nil, &Error{Code: "insufficient_scope", Description: "The token lacks the openid scope.", Status: 403, Challenge: `Bearer error="insufficient_scope"`}
	}
	u, err := p.cfg.Users.UserByID(ctx, g.UserID)
	if errors.Is(err, sesame.ErrNotFound) {
		return nil, invalidToken()
	} else if err != nil {
		return nil, err
	}
	out := userClaims(g.Scopes, u)
	out["sub"] = u.ID
	return out, nil
}

// Revoke answers a revocation request (RFC 7009): a refresh or access
// token of the authenticated client revokes its whole grant. Unknown and
// foreign tokens are answered like revoked ones.
func (p *Provider) Revoke(ctx context.Context, auth ClientAuth, tok string) error {
	c, err := p.authenticate(ctx, auth)
	if err != nil {
		return err
	}
	if tok == "" {
		return invalidRequest("token is required.")
	}
	now := p.cfg.Now()
	grantID, owner, err := p.cfg.Store.OAuthRefreshTokenGrant(ctx, hashCode(tok), now)
	if errors.Is(err, sesame.ErrNotFound) {
		ac, g, verr := p.verifyAccess(ctx, tok)
		if verr != nil {
			if errors.Is(verr, errBadToken) {
				return nil
			}
			return verr
		}
		grantID, owner = g.ID, ac.ClientID
	} else if err != nil {
		return err
	}
	if owner != c.ID {
		return nil
	}
	if err := p.cfg.Store.RevokeOAuthGrant(ctx, grantID, now); err != nil {
		return err
	}
	p.record(ctx, sesame.AuditEvent{Event: EventTokenRevoked, Result: "success", Detail: "client " + c.ID + " grant " + grantID})
	return nil
}

// Introspection is an RFC 7662 answer.
type Introspection struct {
	Active    bool   `json:"active"`
	Scope     string `json:"scope,omitempty"`
	ClientID  string `json:"client_id,omitempty"`
	Subject   string `json:"sub,omitempty"`
	TokenType string `json:"token_type,omitempty"`
	Exp       int64  `json:"exp,omitempty"`
	Iat       int64  `json:"iat,omitempty"`
	Issuer    string `json:"iss,omitempty"`
	Audience  string `json:"aud,omitempty"`
	JTI       string `json:"jti,omitempty"`
	SID       string `json:"sid,omitempty"`
}

// Introspect answers an introspection request (RFC 7662) from a
// confidential client about one of its own tokens; any other token is
// simply inactive.
func (p *Provider) Introspect(ctx context.Context, auth ClientAuth, tok string) (Introspection, error) {
	c, err := p.authenticate(ctx, auth)
	if err != nil {
		return Introspection{}, err
	}
	if c.Public {
		return Introspection{}, errInvalidClient(auth, "Introspection is for confidential clients.")
	}
	if tok == "" {
		return Introspection{}, invalidRequest("token is required.")
	}
	now := p.cfg.Now()
	if grantID, owner, err := p.cfg.Store.OAuthRefreshTokenGrant(ctx, hashCode(tok), now); err == nil {
		g, err := p.cfg.Store.OAuthGrantLive(ctx, grantID, now)
		if err != nil || owner != c.ID {
			return Introspection{}, ignoreNotFound(err)
		}
		return Introspection{Active: true, Scope: strings.Join(g.Scopes, " "), ClientID: c.ID, Subject: g.UserID,
			TokenType: "refresh_token", Issuer: p.cfg.Issuer, SID: g.SessionID}, nil
	} else if !errors.Is(err, sesame.ErrNotFound) {
		return Introspection{}, err
	}
	ac, _, err := p.verifyAccess(ctx, tok)
	if errors.Is(err, errBadToken) || (err == nil && ac.ClientID != c.ID) {
		return Introspection{}, nil
	} else if err != nil {
		return Introspection{}, err
	}
	out := Introspection{Active: true, Scope: ac.Scope, ClientID: ac.ClientID, Subject: ac.Subject, TokenType: "Bearer",
		Exp: ac.ExpiresAt.Unix(), Issuer: ac.Issuer, Audience: ac.ClientID, JTI: ac.ID, SID: ac.SID}
	if ac.IssuedAt != nil {
		out.Iat = ac.IssuedAt.Unix()
	}
	return out, nil
}

func ignoreNotFound(err error) error {
	if errors.Is(err, sesame.ErrNotFound) {
		return nil
	}
	return err
}
