package oidc

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/sesame-auth/sesame"
)

// tokenParams may each appear at most once in a token request.
var tokenParams = []string{"grant_type", "code", "redirect_uri", "code_verifier", "refresh_token", "scope",
	"client_id", "client_secret", "token", "token_type_hint", "auth_req_id"}

// pkceVerifier is a code_verifier (RFC 7636 §4.1).
var pkceVerifier = regexp.MustCompile(`^[A-Za-z0-9._~-]{43,128}$`)

// TokenResponse is the answer of the token endpoint (RFC 6749 §5.1).
type TokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
	IDToken      string `json:"id_token"`
	RefreshToken string `json:"refresh_token,omitempty"`
	Scope        string `json:"scope"`
}

// ClientAuthFrom reads a client's credentials from an Authorization: Basic
// header (user and password as the header gave them, still form-encoded,
// RFC 6749 §2.3.1) or from the form. Using both is an error.
func ClientAuthFrom(form url.Values, basic bool, user, pass string) (ClientAuth, error) {
	if basic {
		if form.Get("client_secret") != "" {
			return ClientAuth{}, invalidRequest("Send the client secret once: by Basic authentication or in the body.")
		}
		id, err1 := url.QueryUnescape(user)
		secret, err2 := url.QueryUnescape(pass)
		if err1 != nil || err2 != nil || (form.Get("client_id") != "" && form.Get("client_id") != id) {
			return ClientAuth{}, &Error{Code: "invalid_client", Description: "Malformed client credentials.", Status: 401, Challenge: `Basic realm="sesame"`}
		}
		return ClientAuth{ID: id, Secret: secret, Method: "client_secret_basic"}, nil
	}
	if form.Get("client_secret") != "" {
		return ClientAuth{ID: form.Get("client_id"), Secret: form.Get("client_secret"), Method: "client_secret_post"}, nil
	}
	return ClientAuth{ID: form.Get("client_id"), Method: "none"}, nil
}

// CheckForm refuses a repeated parameter (RFC 6749 §3.2).
func CheckForm(form url.Values) error {
	for _, name := range tokenParams {
		if len(form[name]) > 1 {
			return invalidRequest("The parameter " + name + " is repeated.")
		}
	}
	return nil
}

// Token answers a token request (form-encoded, already checked with
// CheckForm): the authorization_code and refresh_token grants.
func (p *Provider) Token(ctx context.Context, form url.Values, auth ClientAuth) (TokenResponse, error) {
	c, err := p.authenticate(ctx, auth)
	if err != nil {
		return TokenResponse{}, err
	}
	switch form.Get("grant_type") {
	case "authorization_code":
		return p.exchangeCode(ctx, c, form)
	case "refresh_token":
		return p.refresh(ctx, c, form)
	case GrantCIBA:
		return p.redeemCIBA(ctx, c, form)
	case "":
		return TokenResponse{}, invalidRequest("grant_type is required.")
	}
	return TokenResponse{}, &Error{Code: "unsupported_grant_type", Description: "Only authorization_code, refresh_token and " + GrantCIBA + ".", Status: 400}
}

// exchangeCode redeems an authorization code. The code is claimed by one
// conditional UPDATE before anything is issued, and only then checked
// against the client, redirect_uri and PKCE verifier, so a code is spent
// by its first presentation whatever comes of it (SECURITY rules 43, 44).
func (p *Provider) exchangeCode(ctx context.Context, c sesame.OAuthClient, form url.Values) (TokenResponse, error) {
	code, verifier := form.Get("code"), form.Get("code_verifier")
	if code == "" || len(code) > 128 {
		return TokenResponse{}, invalidRequest("code is required.")
	}
	if verifier != "" && !pkceVerifier.MatchString(verifier) {
		return TokenResponse{}, invalidGrant("A code_verifier is 43 to 128 characters.")
	}
	now := p.cfg.Now()
	claimed, err := p.cfg.Store.ClaimOAuthCode(ctx, hashCode(code), now)
	switch {
	case errors.Is(err, sesame.ErrNotFound):
		return TokenResponse{}, invalidGrant("The code is unknown, expired or spent.")
	case errors.Is(err, sesame.ErrOAuthCodeReplayed):
		p.record(ctx, sesame.AuditEvent{Event: EventCodeReplayed, Result: "invalid_grant", Detail: "client " + c.ID})
		return TokenResponse{}, invalidGrant("The code is unknown, expired or spent.")
	case err != nil:
		return TokenResponse{}, err
	}
	sum := sha256.Sum256([]byte(verifier))
	challenge := base64.RawURLEncoding.EncodeToString(sum[:])
	switch {
	case claimed.ClientID != c.ID:
		return TokenResponse{}, invalidGrant("The code was issued to another client.")
	case claimed.RedirectURI != form.Get("redirect_uri"):
		return TokenResponse{}, invalidGrant("redirect_uri differs from the authorization request's.")
	case claimed.CodeChallenge == "" && verifier != "":
		// RFC 9700 §2.1.1: a verifier for a code issued without a
		// challenge means the request was tampered with.
		return TokenResponse{}, invalidGrant("This code was issued without a code challenge.")
	case claimed.CodeChallenge != "" && subtle.ConstantTimeCompare([]byte(challenge), []byte(claimed.CodeChallenge)) != 1:
		return TokenResponse{}, invalidGrant("The code_verifier does not match the code challenge.")
	}
	// The grant may already be revoked by a replay racing this first
	// redemption: the tokens are issued all the same, and are dead.
	g, err := p.cfg.Store.OAuthGrantOfCode(ctx, claimed.GrantID, now)
	if errors.Is(err, sesame.ErrNotFound) {
		return TokenResponse{}, invalidGrant("The sign-in behind this code has ended.")
	} else if err != nil {
		return TokenResponse{}, err
	}
	var refresh string
	var refreshHash []byte
	if slices.Contains(g.Scopes, ScopeOfflineAccess) {
		refresh = sesame.NewToken()
		refreshHash = hashCode(refresh)
	}
	if err := p.cfg.Store.RedeemOAuthGrant(ctx, g, refreshHash, now.Add(RefreshTTL), now); errors.Is(err, sesame.ErrNotFound) {
		return TokenResponse{}, invalidGrant("The code is unknown, expired or spent.")
	} else if err != nil {
		return TokenResponse{}, err
	}
	p.record(ctx, sesame.AuditEvent{Event: EventCodeRedeemed, Result: "success", UserID: g.UserID, Detail: "client " + c.ID})
	return p.issue(ctx, c, g, refresh, true, now)
}

// RefreshTTL is how long an unused client refresh token lives; it dies
// sooner with its grant or its Sesame session.
const RefreshTTL = 30 * 24 * time.Hour

// refresh rotates a client refresh token; a rotated token presented again
// revokes its grant (SECURITY rule 50).
func (p *Provider) refresh(ctx context.Context, c sesame.OAuthClient, form url.Values) (TokenResponse, error) {
	raw := form.Get("refresh_token")
	if raw == "" || len(raw) > 128 {
		return TokenResponse{}, invalidRequest("refresh_token is required.")
	}
	now := p.cfg.Now()
	next := sesame.NewToken()
	grantID, err := p.cfg.Store.RotateOAuthRefreshToken(ctx, hashCode(raw), hashCode(next), c.ID, now)
	switch {
	case errors.Is(err, sesame.ErrRefreshReused):
		p.record(ctx, sesame.AuditEvent{Event: EventRefreshReused, Result: "invalid_grant", Detail: "client " + c.ID + " grant " + grantID})
		return TokenResponse{}, invalidGrant("The refresh token is invalid.")
	case errors.Is(err, sesame.ErrNotFound):
		return TokenResponse{}, invalidGrant("The refresh token is invalid.")
	case err != nil:
		return TokenResponse{}, err
	}
	g, err := p.cfg.Store.OAuthGrantLive(ctx, grantID, now)
	if errors.Is(err, sesame.ErrNotFound) {
		return TokenResponse{}, invalidGrant("The refresh token is invalid.")
	} else if err != nil {
		return TokenResponse{}, err
	}
	if s := strings.Fields(form.Get("scope")); len(s) > 0 {
		if !subset(s, g.Scopes) {
			return TokenResponse{}, &Error{Code: "invalid_scope", Description: "A refresh cannot widen the scope.", Status: 400}
		}
	}
	if err := p.cfg.Store.TouchOAuthConsent(ctx, g.UserID, c.ID, now); err != nil {
		return TokenResponse{}, err
	}
	p.record(ctx, sesame.AuditEvent{Event: EventTokenRefreshed, Result: "success", UserID: g.UserID, Detail: "client " + c.ID})
	return p.issue(ctx, c, g, next, false, now)
}

// issue signs the access and ID tokens of a grant.
func (p *Provider) issue(ctx context.Context, c sesame.OAuthClient, g sesame.OAuthGrant, refresh string, withNonce bool, now time.Time) (TokenResponse, error) {
	u, err := p.cfg.Users.UserByID(ctx, g.UserID)
	if err != nil {
		return TokenResponse{}, err
	}
	access, err := p.accessToken(ctx, g, now)
	if err != nil {
		return TokenResponse{}, err
	}
	id, err := p.idToken(ctx, c, g, u, access, withNonce, now, nil)
	if err != nil {
		return TokenResponse{}, err
	}
	return TokenResponse{
		AccessToken: access, TokenType: "Bearer", ExpiresIn: int(AccessTTL / time.Second), IDToken: id,
		RefreshToken: refresh, Scope: strings.Join(g.Scopes, " "),
	}, nil
}
