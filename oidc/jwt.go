package oidc

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/token"
)

// Token types in the JWT header (RFC 9068, Back-Channel Logout §2.4).
const (
	typeAccess = "at+jwt"
	typeID     = "JWT"
	typeLogout = "logout+jwt"
)

// backchannelEvent is the events member of a logout token.
const backchannelEvent = "http://schemas.openid.net/event/backchannel-logout"

// accessToken signs a client access token (RFC 9068): aud is the client,
// so Sesame's own /api/* refuse it (SECURITY rule 46); gid names the
// grant, whose revocation ends it.
func (p *Provider) accessToken(ctx context.Context, g sesame.OAuthGrant, now time.Time) (string, error) {
	now = now.Truncate(time.Second)
	return p.cfg.Keys.Sign(ctx, token.AlgES256, typeAccess, jwt.MapClaims{
		"iss":       p.cfg.Issuer,
		"sub":       g.UserID,
		"aud":       g.ClientID,
		"client_id": g.ClientID,
		"scope":     strings.Join(g.Scopes, " "),
		"iat":       now.Unix(),
		"exp":       now.Add(AccessTTL).Unix(),
		"jti":       sesame.NewID(),
		"sid":       g.SessionID,
		"gid":       g.ID,
		"auth_time": g.AuthTime.Unix(),
	})
}

// idToken signs an ID token for grant g (SECURITY rule 46) with the extra
// claims of its grant type. nonce is sent only in the answer to the code
// exchange; sid only when a Sesame session stands behind the grant.
func (p *Provider) idToken(ctx context.Context, c sesame.OAuthClient, g sesame.OAuthGrant, u sesame.User, accessToken string, withNonce bool, now time.Time, extra map[string]any) (string, error) {
	now = now.Truncate(time.Second)
	claims := jwt.MapClaims{
		"iss":       p.cfg.Issuer,
		"sub":       g.UserID,
		"aud":       c.ID,
		"azp":       c.ID,
		"iat":       now.Unix(),
		"exp":       now.Add(IDTokenTTL).Unix(),
		"auth_time": g.AuthTime.Unix(),
		"amr":       g.AMR,
		"sid":       g.SessionID,
		"at_hash":   halfHash(accessToken),
	}
	if g.SessionID == "" {
		delete(claims, "sid")
	}
	for k, v := range extra {
		claims[k] = v
	}
	if withNonce && g.Nonce != "" {
		claims["nonce"] = g.Nonce
	}
	if g.ACR != "" {
		claims["acr"] = g.ACR
	}
	for k, v := range userClaims(g.Scopes, u) {
		claims[k] = v
	}
	return p.cfg.Keys.Sign(ctx, c.IDTokenAlg, typeID, claims)
}

// userClaims are the claims about u that scopes release.
func userClaims(scopes []string, u sesame.User) map[string]any {
	out := map[string]any{}
	if slices.Contains(scopes, ScopeEmail) {
		// Every address in Sesame was proved by a sign-in through it.
		out["email"], out["email_verified"] = u.Email, true
	}
	if slices.Contains(scopes, ScopeProfile) && u.Name != "" {
		out["name"] = u.Name // the display name the user set (PATCH /api/me)
	}
	return out
}

// halfHash is the at_hash of an access token: the left half of its
// SHA-256, base64url (OpenID Connect Core §3.1.3.6; RS256 and ES256 both
// use SHA-256).
func halfHash(s string) string {
	h := sha256.Sum256([]byte(s))
	return base64.RawURLEncoding.EncodeToString(h[:16])
}

// logoutToken signs a Back-Channel Logout token (§2.4): no nonce, the
// events member, sid and sub.
func (p *Provider) logoutToken(ctx context.Context, c sesame.OAuthClient, g sesame.OAuthLogoutDelivery) (string, error) {
	now := p.cfg.Now().Truncate(time.Second)
	return p.cfg.Keys.Sign(ctx, c.IDTokenAlg, typeLogout, jwt.MapClaims{
		"iss":    p.cfg.Issuer,
		"sub":    g.UserID,
		"aud":    c.ID,
		"iat":    now.Unix(),
		"exp":    now.Add(2 * time.Minute).Unix(),
		"jti":    sesame.NewID(),
		"sid":    g.SessionID,
		"events": map[string]any{backchannelEvent: map[string]any{}},
	})
}

// accessClaims are the facts of a verified client access token.
type accessClaims struct {
	jwt.RegisteredClaims
	ClientID string `json:"client_id"`
	Scope    string `json:"scope"`
	SID      string `json:"sid"`
	GID      string `json:"gid"`
	AuthTime int64  `json:"auth_time"`
}

var errBadToken = errors.New("invalid token")

// verifyAccess checks raw as a client access token Sesame issued and
// still honours: signature, typ, iss, exp, aud = client_id, and a live
// grant and session behind it.
func (p *Provider) verifyAccess(ctx context.Context, raw string) (accessClaims, sesame.OAuthGrant, error) {
	var c accessClaims
	if len(raw) > token.MaxTokenLength {
		return c, sesame.OAuthGrant{}, errBadToken
	}
	parser := jwt.NewParser(jwt.WithValidMethods([]string{token.AlgES256}), jwt.WithIssuer(p.cfg.Issuer),
		jwt.WithExpirationRequired(), jwt.WithLeeway(token.Leeway), jwt.WithTimeFunc(p.cfg.Now))
	_, err := parser.ParseWithClaims(raw, &c, func(t *jwt.Token) (any, error) {
		if typ, _ := t.Header["typ"].(string); typ != typeAccess {
			return nil, errBadToken
		}
		kid, _ := t.Header["kid"].(string)
		pub, _, err := p.cfg.Keys.PublicKey(ctx, kid)
		return pub, err
	})
	if err != nil || c.ClientID == "" || len(c.Audience) != 1 || c.Audience[0] != c.ClientID || c.GID == "" {
		return c, sesame.OAuthGrant{}, errBadToken
	}
	g, err := p.cfg.Store.OAuthGrantLive(ctx, c.GID, p.cfg.Now())
	if errors.Is(err, sesame.ErrNotFound) || (err == nil && (g.ClientID != c.ClientID || g.UserID != c.Subject)) {
		return c, g, errBadToken
	}
	return c, g, err
}

// verifyIDTokenHint checks an id_token_hint: our signature and issuer;
// it may have expired (RP-Initiated Logout §2, Core §3.1.2.1). It returns
// the client it was issued to and the person it names.
func (p *Provider) verifyIDTokenHint(ctx context.Context, raw string) (clientID, subject string, err error) {
	if len(raw) > token.MaxTokenLength {
		return "", "", errBadToken
	}
	var c jwt.RegisteredClaims
	parser := jwt.NewParser(jwt.WithValidMethods([]string{token.AlgES256, token.AlgRS256}), jwt.WithIssuer(p.cfg.Issuer),
		jwt.WithoutClaimsValidation())
	_, err = parser.ParseWithClaims(raw, &c, func(t *jwt.Token) (any, error) {
		if typ, _ := t.Header["typ"].(string); typ != typeID {
			return nil, errBadToken
		}
		kid, _ := t.Header["kid"].(string)
		pub, alg, err := p.cfg.Keys.PublicKey(ctx, kid)
		if err == nil && alg != t.Method.Alg() {
			return nil, errBadToken
		}
		return pub, err
	})
	if err != nil || c.Issuer != p.cfg.Issuer || len(c.Audience) != 1 || c.Subject == "" {
		return "", "", errBadToken
	}
	return c.Audience[0], c.Subject, nil
}
