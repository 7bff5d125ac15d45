package oidc

import (
	"context"
	"crypto/sha256"
	"errors"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/sesame-auth/sesame"
)

// RequestInfo is what the /signin page shows about a pending request.
type RequestInfo struct {
	ClientID   string
	ClientName string
	Scopes     []string
	LoginHint  string
	Prompt     string
	MaxAge     *int
	ACRValues  []string
	UILocales  string
}

// Request returns what the page needs to know of a live authorization
// request. A spent or expired one is 410 used or expired; without the
// request's binder, other_browser.
func (p *Provider) Request(ctx context.Context, id, binder string) (RequestInfo, error) {
	r, c, err := p.liveRequest(ctx, id, binder)
	if err != nil {
		return RequestInfo{}, err
	}
	return RequestInfo{
		ClientID: c.ID, ClientName: c.Name, Scopes: r.Scopes, LoginHint: r.LoginHint, Prompt: r.Prompt,
		MaxAge: r.MaxAge, ACRValues: r.ACRValues, UILocales: r.UILocales,
	}, nil
}

var (
	errRequestUnknown = sesame.Errorf(sesame.ENotFound, "No such sign-in request.")
	errRequestUsed    = sesame.Errorf(sesame.EUsed, "This sign-in request was already completed. Go back to the app and start again.")
	errRequestExpired = sesame.Errorf(sesame.EExpired, "This sign-in request has expired. Go back to the app and start again.")
)

// liveRequest returns request id and its client when the request is live
// and binder is its own. An unknown, spent or expired request is told as
// such before the binder is checked: the id alone already says that much.
func (p *Provider) liveRequest(ctx context.Context, id, binder string) (sesame.OAuthRequest, sesame.OAuthClient, error) {
	if id == "" || len(id) > 64 {
		return sesame.OAuthRequest{}, sesame.OAuthClient{}, errRequestUnknown
	}
	r, err := p.cfg.Store.OAuthRequestByID(ctx, id)
	switch {
	case errors.Is(err, sesame.ErrNotFound):
		return r, sesame.OAuthClient{}, errRequestUnknown
	case err != nil:
		return r, sesame.OAuthClient{}, err
	case r.ConsumedAt != nil:
		return r, sesame.OAuthClient{}, errRequestUsed
	case !p.cfg.Now().Before(r.ExpiresAt):
		return r, sesame.OAuthClient{}, errRequestExpired
	}
	if err := p.checkBinder(id, binder); err != nil {
		return r, sesame.OAuthClient{}, err
	}
	c, err := p.cfg.Store.OAuthClientByID(ctx, r.ClientID)
	if errors.Is(err, sesame.ErrNotFound) {
		return r, c, errRequestUnknown
	}
	return r, c, err
}

// SignedIn is the Sesame session that accepts a request: the claims of
// its access token.
type SignedIn struct {
	UserID    string
	SessionID string
	AuthTime  time.Time
	AMR       []string
}

// Accept completes request id for the person signed in: it enforces
// prompt=login, max_age and acr_values (SECURITY rule 49) and consent
// (rule 48), then spends the request and returns where the browser goes:
// the client's redirect_uri with code, state and iss. binder is the
// request's cookie from the browser that asks.
func (p *Provider) Accept(ctx context.Context, id, binder string, who SignedIn, consent bool) (string, error) {
	r, c, err := p.liveRequest(ctx, id, binder)
	if err != nil {
		return "", err
	}
	if r.HintSubject != "" && r.HintSubject != who.UserID {
		return "", sesame.Errorf(sesame.EAccountMismatch,
			"The app asks you to sign in as another person than the one signed in here. Sign in with that account to go on.")
	}
	now := p.cfg.Now()
	// auth_time is carried in whole seconds; a sign-in during the second
	// the request was made counts as after it.
	fresh := !who.AuthTime.Before(r.CreatedAt.Truncate(time.Second))
	prompts := strings.Fields(r.Prompt)
	if slices.Contains(prompts, "login") && !fresh {
		return "", sesame.Errorf(sesame.EReauthRequired, "The app asks you to sign in again.")
	}
	if r.MaxAge != nil && !fresh && now.Sub(who.AuthTime) > time.Duration(*r.MaxAge)*time.Second {
		return "", sesame.Errorf(sesame.EReauthRequired, "The app asks for a more recent sign-in.")
	}
	acr, ok := satisfiedACR(r.ACRValues, who.AMR)
	if !ok {
		return "", &sesame.Error{Code: sesame.EStepUpRequired,
			Message: "The app asks you to sign in with a passkey or security key.",
			Extra:   map[string]any{"acr_values": r.ACRValues}}
	}
	if !c.Trusted {
		prior, err := p.cfg.Store.OAuthConsent(ctx, who.UserID, c.ID)
		if err != nil && !errors.Is(err, sesame.ErrNotFound) {
			return "", err
		}
		covered := err == nil && !slices.Contains(prompts, "consent") && subset(r.Scopes, prior.Scopes)
		if !covered && !consent {
			return "", &sesame.Error{Code: sesame.EConsentRequired,
				Message: "Allow " + c.Name + " to see what it asks for.",
				Extra:   map[string]any{"scopes": r.Scopes}}
		}
		if !covered {
			scopes := r.Scopes
			if err == nil && !slices.Contains(prompts, "consent") {
				scopes = union(prior.Scopes, r.Scopes)
			}
			if err := p.cfg.Store.SaveOAuthConsent(ctx, sesame.OAuthConsent{UserID: who.UserID, ClientID: c.ID, Scopes: scopes, ApprovedAt: now}); err != nil {
				return "", err
			}
			p.record(ctx, sesame.AuditEvent{Event: EventConsentGiven, Result: "success", UserID: who.UserID,
				Detail: "client " + c.ID + " scopes " + strings.Join(scopes, " ")})
		}
	}
	if err := p.consume(ctx, id); err != nil {
		return "", err
	}
	code := sesame.NewToken()
	g := sesame.OAuthGrant{
		ID: sesame.NewID(), ClientID: c.ID, UserID: who.UserID, SessionID: who.SessionID, Scopes: r.Scopes,
		Nonce: r.Nonce, AuthTime: who.AuthTime, AMR: who.AMR, ACR: acr, CreatedAt: now,
	}
	if err := p.cfg.Store.CreateOAuthGrant(ctx, g, sesame.OAuthCode{
		Hash: hashCode(code), ClientID: c.ID, RedirectURI: r.RedirectURI, CodeChallenge: r.CodeChallenge,
		CreatedAt: now, ExpiresAt: now.Add(CodeTTL),
	}); err != nil {
		return "", err
	}
	v := url.Values{"code": {code}, "iss": {p.cfg.Issuer}}
	if r.State != "" {
		v.Set("state", r.State)
	}
	return addQuery(r.RedirectURI, v), nil
}

// DenyErrors are the errors the page may answer a prompt=none request
// with instead of access_denied (OpenID Connect Core §3.1.2.6).
var DenyErrors = []string{"login_required", "consent_required", "interaction_required"}

// Deny refuses request id and returns where the browser goes: the
// client's redirect_uri with error access_denied, or with errCode (one of
// DenyErrors) when the request had prompt=none. binder is as for Accept.
func (p *Provider) Deny(ctx context.Context, id, binder, errCode string) (string, error) {
	r, _, err := p.liveRequest(ctx, id, binder)
	if err != nil {
		return "", err
	}
	desc := "The person declined."
	switch {
	case errCode == "":
		errCode = "access_denied"
	case !slices.Contains(DenyErrors, errCode):
		return "", sesame.Errorf(sesame.EBadRequest, "error must be one of %s.", strings.Join(DenyErrors, ", "))
	case r.Prompt != "none":
		return "", sesame.Errorf(sesame.EBadRequest, "Only a prompt=none request is answered with %s.", errCode)
	default:
		desc = "prompt=none: the person would have to interact."
	}
	if err := p.consume(ctx, id); err != nil {
		return "", err
	}
	return p.errorRedirect(r.RedirectURI, errCode, desc, r.State), nil
}

// consume spends a request with one conditional UPDATE; a lost race with
// another accept or deny is 410 used.
func (p *Provider) consume(ctx context.Context, id string) error {
	if err := p.cfg.Store.ConsumeOAuthRequest(ctx, id, p.cfg.Now()); errors.Is(err, sesame.ErrNotFound) {
		return errRequestUsed
	} else if err != nil {
		return err
	}
	return nil
}

// satisfiedACR checks the requested acr_values against the sign-in's amr
// and returns the acr to put in the ID token: the strongest value asked
// for that the sign-in meets. ok is false when values were asked for and
// none is met.
func satisfiedACR(requested, amr []string) (acr string, ok bool) {
	if len(requested) == 0 {
		return "", true
	}
	hwk, swk := slices.Contains(amr, "hwk"), slices.Contains(amr, "swk")
	if slices.Contains(requested, ACRPhishingResistantHardware) && hwk {
		return ACRPhishingResistantHardware, true
	}
	if slices.Contains(requested, ACRPhishingResistant) && (hwk || swk) {
		return ACRPhishingResistant, true
	}
	return "", false
}

func subset(a, b []string) bool {
	for _, s := range a {
		if !slices.Contains(b, s) {
			return false
		}
	}
	return true
}

func union(a, b []string) []string {
	out := slices.Clone(a)
	for _, s := range b {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

func hashCode(code string) []byte {
	h := sha256.Sum256([]byte(code))
	return h[:]
}
