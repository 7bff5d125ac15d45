// Package oidc makes Sesame an OpenID Connect provider (API.md "Apps
// signing their users in"): client registration, the authorization
// request and its hand-over to the /signin page, consent, the token,
// userinfo, revocation and introspection endpoints, RP-initiated logout
// and Back-Channel Logout. It takes and returns plain Go values; server
// speaks HTTP, db stores.
package oidc

import (
	"cmp"
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/internal/retry"
	"github.com/sesame-auth/sesame/signin"
	"github.com/sesame-auth/sesame/token"
)

// Lifetimes (SECURITY rules 44 and 46, API.md).
const (
	RequestTTL = 10 * time.Minute // an authorization or logout request
	CodeTTL    = 60 * time.Second
	IDTokenTTL = 10 * time.Minute
	AccessTTL  = 10 * time.Minute
)

// Scopes Sesame knows; others are ignored.
const (
	ScopeOpenID        = "openid"
	ScopeEmail         = "email"
	ScopeProfile       = "profile"
	ScopeOfflineAccess = "offline_access"
)

// SupportedScopes are the scopes of discovery's scopes_supported.
var SupportedScopes = []string{ScopeOpenID, ScopeEmail, ScopeProfile, ScopeOfflineAccess}

// Store is what the provider keeps; db.DB implements it.
type Store interface {
	InsertOAuthClient(ctx context.Context, c sesame.OAuthClient) error
	OAuthClientByID(ctx context.Context, id string) (sesame.OAuthClient, error)
	OAuthClients(ctx context.Context) ([]sesame.OAuthClient, error)
	DeleteOAuthClient(ctx context.Context, id string) error
	SetOAuthClientSecret(ctx context.Context, id string, hash []byte) error

	InsertOAuthRequest(ctx context.Context, r sesame.OAuthRequest) error
	OAuthRequestByID(ctx context.Context, id string) (sesame.OAuthRequest, error)
	ConsumeOAuthRequest(ctx context.Context, id string, now time.Time) error

	CreateOAuthGrant(ctx context.Context, g sesame.OAuthGrant, c sesame.OAuthCode) error
	ClaimOAuthCode(ctx context.Context, hash []byte, now time.Time) (sesame.OAuthCode, error)
	OAuthGrantLive(ctx context.Context, id string, now time.Time) (sesame.OAuthGrant, error)
	OAuthGrantOfCode(ctx context.Context, id string, now time.Time) (sesame.OAuthGrant, error)
	RedeemOAuthGrant(ctx context.Context, g sesame.OAuthGrant, refreshHash []byte, refreshExpires, now time.Time) error
	RotateOAuthRefreshToken(ctx context.Context, hash, next []byte, clientID string, now time.Time) (string, error)
	TouchOAuthConsent(ctx context.Context, userID, clientID string, now time.Time) error
	OAuthRefreshTokenGrant(ctx context.Context, hash []byte, now time.Time) (grantID, clientID string, err error)
	RevokeOAuthGrant(ctx context.Context, id string, now time.Time) error
	RevokeEndedSessionGrants(ctx context.Context, userID string, now time.Time) (queued int64, err error)
	ClaimOAuthLogouts(ctx context.Context, now, leaseUntil time.Time, limit int) ([]sesame.OAuthLogoutDelivery, error)
	RetryOAuthLogout(ctx context.Context, clientID, sessionID string, next time.Time) error
	FinishOAuthLogout(ctx context.Context, clientID, sessionID, status string, now time.Time) error

	OAuthConsent(ctx context.Context, userID, clientID string) (sesame.OAuthConsent, error)
	SaveOAuthConsent(ctx context.Context, c sesame.OAuthConsent) error
	OAuthConsents(ctx context.Context, userID string) ([]sesame.OAuthConsent, error)
	WithdrawOAuthConsent(ctx context.Context, userID, clientID string, now time.Time) error

	InsertOAuthLogout(ctx context.Context, l sesame.OAuthLogout) error
	OAuthLogoutByID(ctx context.Context, id string, now time.Time) (sesame.OAuthLogout, error)
	ConsumeOAuthLogout(ctx context.Context, id string, now time.Time) (sesame.OAuthLogout, error)
}

// Users looks up the person a token speaks for.
type Users interface {
	UserByID(ctx context.Context, id string) (sesame.User, error)
	UserByEmail(ctx context.Context, email string) (sesame.User, error)
}

// Auditor records security events; audit.Log implements it.
type Auditor interface {
	Record(ctx context.Context, e sesame.AuditEvent)
}

// Observer counts provider events for metrics: event is one of the Event*
// names, result "success" or an error code.
type Observer func(event, result string)

// Event names, for audit records and metrics.
const (
	EventAuthorize         = "oidc_authorize"
	EventConsentGiven      = "oidc_consent_given"
	EventConsentWithdrawn  = "oidc_consent_withdrawn"
	EventCodeRedeemed      = "oidc_code_redeemed"
	EventTokenRefreshed    = "oidc_token_refreshed"
	EventLogoutDelivered   = "oidc_backchannel_logout_delivered"
	EventLogoutFailed      = "oidc_backchannel_logout_failed"
	EventCodeReplayed      = "oidc_code_replayed"
	EventRefreshReused     = "oidc_refresh_reused"
	EventTokenRevoked      = "oidc_token_revoked"
	EventRPInitiatedLogout = "oidc_logout"
)

// Config builds a Provider.
type Config struct {
	// Issuer is the public URL, the iss of every token.
	Issuer string
	Store  Store
	Users  Users
	Keys   *token.Keys
	Audit  Auditor
	// BinderKey keys the cookie binding an authorization request to its
	// browser (sesame.PurposeOAuthRequestBinder); empty, New makes a
	// random one, good for this process only.
	BinderKey []byte
	// CIBA keeps approval requests; Passkeys runs their assertions, whose
	// spends (the ceremony, the credential's counter) SignIns commits.
	CIBA     CIBAStore
	Passkeys Passkeys
	SignIns  signin.Store
	// Mail tells the person of a request (an email with the approval
	// link); nil sends nothing. LimitMail, when set, counts one such mail
	// to a person and answers an error past its limit: the request is
	// made all the same, without a mail.
	Mail      Mailer
	LimitMail func(ctx context.Context, userID string) error
	// LimitClient, when set, counts one backchannel request of a client
	// and answers a rate_limited error past its limit.
	LimitClient func(ctx context.Context, clientID string) error
	// Observe, when set, counts events for metrics.
	Observe Observer
	Logger  *slog.Logger
	// HTTPClient posts back-channel logout tokens, each within 5 s.
	HTTPClient *http.Client
	// LogoutAttempts is how many tries a back-channel logout delivery gets
	// before it is given up; LogoutBackoff the wait after the first failed
	// one, doubled after each, at most LogoutMaxBackoff; LogoutPoll how
	// often the outbox is read for retries and deliveries another
	// instance queued. Zero values take the Default* constants.
	LogoutAttempts                  int
	LogoutBackoff, LogoutMaxBackoff time.Duration
	LogoutPoll                      time.Duration
	Now                             func() time.Time
}

// Provider is Sesame's OpenID Connect provider. It is safe for concurrent
// use.
type Provider struct {
	cfg  Config
	wake chan struct{} // a delivery was queued here
	// claims logs an outage of the logout outbox once.
	claims *retry.Claims
	stop   chan struct{}
	done   chan struct{}
}

// New returns a Provider and starts its back-channel logout sender; Close
// stops it.
func New(cfg Config) *Provider {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{}
	}
	if cfg.HTTPClient.CheckRedirect == nil {
		// A logout token goes to the registered URI only: a redirect (a
		// 307 would resend the token) is an answer that is not 200.
		cfg.HTTPClient.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	}
	if len(cfg.BinderKey) == 0 {
		cfg.BinderKey = sesame.RandomBytes(32)
	}
	cfg.LogoutAttempts = cmp.Or(cfg.LogoutAttempts, DefaultLogoutAttempts)
	cfg.LogoutBackoff = cmp.Or(cfg.LogoutBackoff, DefaultLogoutBackoff)
	cfg.LogoutMaxBackoff = cmp.Or(cfg.LogoutMaxBackoff, DefaultLogoutMaxBackoff)
	cfg.LogoutPoll = cmp.Or(cfg.LogoutPoll, DefaultLogoutPoll)
	if cfg.Observe == nil {
		cfg.Observe = func(string, string) {}
	}
	p := &Provider{cfg: cfg, wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{}),
		claims: &retry.Claims{Name: "back-channel logout outbox", Log: cfg.Logger}}
	go p.sender()
	return p
}

// Close stops the back-channel sender after the deliveries under way.
func (p *Provider) Close() {
	select {
	case <-p.stop:
	default:
		close(p.stop)
	}
	<-p.done
}

// Issuer is the provider's issuer identifier.
func (p *Provider) Issuer() string { return p.cfg.Issuer }

func (p *Provider) record(ctx context.Context, e sesame.AuditEvent) {
	p.cfg.Observe(e.Event, e.Result)
	if p.cfg.Audit != nil {
		p.cfg.Audit.Record(ctx, e)
	}
}
