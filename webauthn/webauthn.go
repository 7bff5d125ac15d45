// Package webauthn runs Sesame's passkey and security-key ceremonies
// (W3C WebAuthn Level 3) on go-webauthn: registration, sign-in (discoverable
// and email-first), the second factor after a password, and the management
// of the stored credential records. It takes and returns plain Go values;
// HTTP stays in package server.
//
// A passkey sign-in's begin writes nothing: its ceremony id is a ticket
// (ticket.go) that carries the challenge, its expiry and the account it
// was begun for, sealed, and the sign-in's own transaction (package
// signin) spends the challenge by inserting its hash, or the finish does
// at once when it fails. Every other ceremony's state lives in the
// database, stored whole and spent by one conditional update: a
// registration at its finish, a second factor in the sign-in's
// transaction, or at once when its finish fails. So any instance can
// finish what another began and no ceremony is finished twice.
//
// One file per ceremony: register.go, login.go, mfa.go, with
// assertion.go shared by the last two; ceremony.go keeps their state,
// manage.go the stored credentials.
package webauthn

import (
	"context"
	"crypto/cipher"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	gowebauthn "github.com/go-webauthn/webauthn/webauthn"
	"golang.org/x/crypto/chacha20poly1305"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/mail"
)

// Store is the storage the ceremonies need; db.DB implements it.
type Store interface {
	CreateCeremony(ctx context.Context, c sesame.Ceremony) error
	ConsumeCeremony(ctx context.Context, id string, now time.Time) (sesame.Ceremony, error)
	Ceremony(ctx context.Context, id string) (sesame.Ceremony, error)
	// SpendChallenge records a sign-in ticket's challenge as used; a
	// second time it answers an error with code sesame.EConflict.
	SpendChallenge(ctx context.Context, hash []byte, expires time.Time) error
	CreateCredential(ctx context.Context, c sesame.Credential) error
	CredentialByID(ctx context.Context, id []byte) (sesame.Credential, error)
	CredentialsByUser(ctx context.Context, userID string) ([]sesame.Credential, error)
	UseCredential(ctx context.Context, c sesame.Credential, oldSignCount uint32, now time.Time) error
	RenameCredential(ctx context.Context, userID string, id []byte, name string) (sesame.Credential, error)
	DeleteCredential(ctx context.Context, userID string, id []byte) error
	UserByID(ctx context.Context, id string) (sesame.User, error)
	UserByEmail(ctx context.Context, email string) (sesame.User, error)
}

// Mailer queues a message in the durable outbox (mail.Queue), whose
// workers render and send it off the request path.
type Mailer interface {
	Enqueue(d mail.Draft) bool
}

// User verification policies (SECURITY rule 3).
const (
	UVPreferred = "preferred"
	UVRequired  = "required"
)

// Authenticator kinds a registration may ask for.
const (
	AuthenticatorAny           = ""
	AuthenticatorPlatform      = "platform"
	AuthenticatorCrossPlatform = "cross-platform"
)

// Defaults.
const (
	// CeremonyTTL is how long a ceremony may be finished (SECURITY rule 1).
	CeremonyTTL = 5 * time.Minute
	// MaxCeremonyIDLength bounds the ceremony id a finish may send: ours
	// are 22 characters; a longer one is answered expired without a read.
	MaxCeremonyIDLength = 64
	DefaultRPName       = "Sesame"
	// MaxNameLength is the longest credential name, in characters.
	MaxNameLength = 64
	// DefaultName names a credential of an authenticator we do not know.
	DefaultName = "Passkey"
)

// Config configures a Service.
type Config struct {
	Store Store
	Mail  Mailer
	// PublicURL is the origin users see; the RP ID is its host, never a
	// request's Host header (SECURITY rule 2).
	PublicURL string
	// ExtraOrigins are further origins allowed to run ceremonies: http(s)
	// origins of related sites, or the opaque origins of native apps
	// ("android:apk-key-hash:…", "ios:bundle-id:…").
	ExtraOrigins []string
	// RPName is the relying party's display name; default "Sesame".
	RPName string
	// UserVerification is UVPreferred (default) or UVRequired.
	UserVerification string
	// FakeCredentialKey keys the stable fake credential ids answered for
	// addresses without an account (sesame.PurposeFakeCredential).
	FakeCredentialKey []byte
	// ChallengeKey keys the sealing of sign-in tickets, the stateless
	// ceremonies of passkey sign-ins (sesame.PurposeLoginChallenge). Every
	// instance that may finish a sign-in another began needs the same.
	ChallengeKey []byte
	Logger       *slog.Logger
	Now          func() time.Time
}

// Service runs the ceremonies. It keeps nothing between calls and is safe
// for concurrent use.
type Service struct {
	cfg Config
	rp  *gowebauthn.WebAuthn
	uv  protocol.UserVerificationRequirement
	// origins are the configured origins, compared as exact strings with a
	// response's (SECURITY rules 2, 58): go-webauthn compares them after
	// normalising, which lets HTTP://LOCALHOST, a path or a user through.
	origins []string
	// loginSession is what the library's discoverable begin stores, but
	// the challenge: a sign-in ticket's session data is this and its
	// challenge (ticket.go).
	loginSession *gowebauthn.SessionData
	// ticketAEAD seals sign-in tickets (ticket.go).
	ticketAEAD cipher.AEAD
}

// New checks cfg and returns a Service.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil || cfg.Mail == nil {
		return nil, errors.New("webauthn: Store and Mail are required")
	}
	if len(cfg.FakeCredentialKey) < 32 || len(cfg.ChallengeKey) < 32 {
		return nil, errors.New("webauthn: FakeCredentialKey and ChallengeKey must be 32 bytes or more")
	}
	u, err := url.Parse(cfg.PublicURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("webauthn: public URL %q must be http(s)://host[:port]", cfg.PublicURL)
	}
	if cfg.RPName == "" {
		cfg.RPName = DefaultRPName
	}
	var uv protocol.UserVerificationRequirement
	switch cfg.UserVerification {
	case "", UVPreferred:
		uv = protocol.VerificationPreferred
	case UVRequired:
		uv = protocol.VerificationRequired
	default:
		return nil, fmt.Errorf("webauthn: user verification %q: want preferred or required", cfg.UserVerification)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	origins := []string{u.Scheme + "://" + u.Host}
	var opaque []string
	for _, o := range cfg.ExtraOrigins {
		switch o = strings.TrimRight(strings.TrimSpace(o), "/"); {
		case o == "":
		case protocol.IsOpaqueOrigin(o):
			opaque = append(opaque, o)
		default:
			ou, err := url.Parse(o)
			if err != nil || (ou.Scheme != "http" && ou.Scheme != "https") || ou.Host == "" || ou.Path != "" {
				return nil, fmt.Errorf("webauthn: extra origin %q must be http(s)://host[:port] or a native app's origin", o)
			}
			origins = append(origins, o)
		}
	}
	timeout := gowebauthn.TimeoutConfig{Enforce: true, Timeout: CeremonyTTL, TimeoutUVD: CeremonyTTL}
	rp, err := gowebauthn.New(&gowebauthn.Config{
		RPID:            u.Hostname(),
		RPDisplayName:   cfg.RPName,
		RPOrigins:       origins,
		RPOpaqueOrigins: opaque,
		// crossOrigin: true in clientDataJSON is refused (SECURITY rule 2).
		RPAllowCrossOrigin:     false,
		AttestationPreference:  protocol.PreferNoAttestation,
		AuthenticatorSelection: protocol.AuthenticatorSelection{UserVerification: uv},
		Timeouts:               gowebauthn.TimeoutsConfig{Login: timeout, Registration: timeout},
		// Some clients send extension outputs nobody asked for (credProps
		// above all); they carry nothing we rely on, so they are ignored
		// rather than fatal (SECURITY rule 60, WebAuthn L3 §7.1 step 14).
		ExtensionsUnsolicitedOutputPolicy: protocol.UnsolicitedOutputPolicyIgnore,
	})
	if err != nil {
		return nil, fmt.Errorf("webauthn: %w", err)
	}
	_, template, err := rp.BeginDiscoverableLogin()
	if err != nil {
		return nil, fmt.Errorf("webauthn: %w", err)
	}
	template.Challenge, template.Expires = "", time.Time{}
	aead, err := chacha20poly1305.NewX(ticketKey(cfg.ChallengeKey))
	if err != nil {
		return nil, fmt.Errorf("webauthn: %w", err)
	}
	return &Service{cfg: cfg, rp: rp, uv: uv, origins: append(origins, opaque...), loginSession: template, ticketAEAD: aead}, nil
}

// RPID returns the relying party id: the host of the public URL.
func (s *Service) RPID() string { return s.rp.Config.RPID }

// Errors the finish steps answer. Every verification failure says the same
// thing; the library's reason goes to the log only.
var (
	errFailed  = sesame.Errorf(sesame.ECeremonyFailed, "The passkey could not be verified. Try again.")
	errExpired = sesame.Errorf(sesame.EExpired, "This passkey request has expired. Start again.")
	errUsed    = sesame.Errorf(sesame.EUsed, "This passkey request was already used. Start again.")
)
