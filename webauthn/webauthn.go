// Package webauthn runs Sesame's passkey and security-key ceremonies
// (W3C WebAuthn Level 3) on go-webauthn: registration, sign-in (discoverable
// and email-first), the second factor after a password, and the management
// of the stored credential records. It takes and returns plain Go values;
// HTTP stays in package server.
//
// Every ceremony's state lives in the database, stored whole and consumed
// by one conditional update on the first finish attempt, so any instance
// can finish what another began and no ceremony can be finished twice.
package webauthn

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/protocol/webauthncose"
	gowebauthn "github.com/go-webauthn/webauthn/webauthn"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/mail"
	"github.com/sesame-auth/sesame/signin"
)

// Store is the storage the ceremonies need; db.DB implements it.
type Store interface {
	CreateCeremony(ctx context.Context, c sesame.Ceremony) error
	ConsumeCeremony(ctx context.Context, id string, now time.Time) (sesame.Ceremony, error)
	Ceremony(ctx context.Context, id string) (sesame.Ceremony, error)
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
	CeremonyTTL   = 5 * time.Minute
	DefaultRPName = "Sesame"
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
	Logger            *slog.Logger
	Now               func() time.Time
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
}

// New checks cfg and returns a Service.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil || cfg.Mail == nil {
		return nil, errors.New("webauthn: Store and Mail are required")
	}
	if len(cfg.FakeCredentialKey) < 32 {
		return nil, errors.New("webauthn: FakeCredentialKey must be 32 bytes or more")
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
	return &Service{cfg: cfg, rp: rp, uv: uv, origins: append(origins, opaque...)}, nil
}

// RPID returns the relying party id: the host of the public URL.
func (s *Service) RPID() string { return s.rp.Config.RPID }

// credentialParameters are the algorithms offered, in order of preference:
// ES256 (-7), EdDSA (-8), RS256 (-257) (SECURITY rule 5).
func credentialParameters() []protocol.CredentialParameter {
	return []protocol.CredentialParameter{
		{Type: protocol.PublicKeyCredentialType, Algorithm: webauthncose.AlgES256},
		{Type: protocol.PublicKeyCredentialType, Algorithm: webauthncose.AlgEdDSA},
		{Type: protocol.PublicKeyCredentialType, Algorithm: webauthncose.AlgRS256},
	}
}

// Errors the finish steps answer. Every verification failure says the same
// thing; the library's reason goes to the log only.
var (
	errFailed  = sesame.Errorf(sesame.ECeremonyFailed, "The passkey could not be verified. Try again.")
	errExpired = sesame.Errorf(sesame.EExpired, "This passkey request has expired. Start again.")
	errUsed    = sesame.Errorf(sesame.EUsed, "This passkey request was already used. Start again.")
)

// BeginRegistration starts adding a passkey or security key to u.
// authenticator is AuthenticatorAny, AuthenticatorPlatform or
// AuthenticatorCrossPlatform. It returns the ceremony id and the
// PublicKeyCredentialCreationOptionsJSON for navigator.credentials.create.
// The caller checks that u signed in recently with a full session
// (SECURITY rule 9).
func (s *Service) BeginRegistration(ctx context.Context, u sesame.User, authenticator string) (string, json.RawMessage, error) {
	// A discoverable credential is what makes sign-in without an email
	// work; security keys have few slots, so for them it is only preferred.
	sel := protocol.AuthenticatorSelection{
		ResidentKey:        protocol.ResidentKeyRequirementRequired,
		RequireResidentKey: protocol.ResidentKeyRequired(),
		UserVerification:   s.uv,
	}
	var hints []protocol.PublicKeyCredentialHints
	switch authenticator {
	case AuthenticatorAny:
	case AuthenticatorPlatform:
		sel.AuthenticatorAttachment = protocol.Platform
		hints = []protocol.PublicKeyCredentialHints{protocol.PublicKeyCredentialHintClientDevice}
	case AuthenticatorCrossPlatform:
		sel.AuthenticatorAttachment = protocol.CrossPlatform
		sel.ResidentKey, sel.RequireResidentKey = protocol.ResidentKeyRequirementPreferred, protocol.ResidentKeyNotRequired()
		hints = []protocol.PublicKeyCredentialHints{protocol.PublicKeyCredentialHintSecurityKey}
	default:
		return "", nil, sesame.Errorf(sesame.EBadRequest, `authenticator must be "platform", "cross-platform" or null.`)
	}
	creds, err := s.cfg.Store.CredentialsByUser(ctx, u.ID)
	if err != nil {
		return "", nil, fmt.Errorf("begin registration: %w", err)
	}
	who := newUser(u, creds)
	opts := []gowebauthn.RegistrationOption{
		gowebauthn.WithAuthenticatorSelection(sel),
		gowebauthn.WithConveyancePreference(protocol.PreferNoAttestation),
		gowebauthn.WithCredentialParameters(credentialParameters()),
		// The user's own credentials, so an authenticator that holds one
		// says so instead of making a second (SECURITY rule 9).
		gowebauthn.WithExclusions(gowebauthn.Credentials(who.creds).CredentialDescriptors()),
		// credProps tells whether the credential is discoverable; it is
		// recorded (SECURITY rule 60).
		gowebauthn.WithExtensions(gowebauthn.WithExtensionCredProps()),
	}
	if hints != nil {
		opts = append(opts, gowebauthn.WithPublicKeyCredentialHints(hints))
	}
	creation, session, err := s.rp.BeginRegistration(who, opts...)
	if err != nil {
		return "", nil, fmt.Errorf("begin registration: %w", err)
	}
	return s.begin(ctx, sesame.CeremonyRegistration, u.ID, session, creation.Response)
}

// FinishRegistration verifies the attestation response credential (the
// JSON of PublicKeyCredential.toJSON()) against ceremony ceremonyID, begun
// for u, and stores the new credential under name, or under the
// authenticator's name when name is empty. It queues an email notice to
// the user. A credential id already registered, to anyone, is a conflict.
func (s *Service) FinishRegistration(ctx context.Context, u sesame.User, ceremonyID string, credential []byte, name string) (sesame.Credential, error) {
	name, err := CleanName(name)
	if err != nil {
		return sesame.Credential{}, err
	}
	c, session, err := s.consume(ctx, ceremonyID)
	if err != nil {
		return sesame.Credential{}, err
	}
	if c.Type != sesame.CeremonyRegistration || c.UserID != u.ID {
		return sesame.Credential{}, s.fail(c, "ceremony of another type or user", nil)
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(credential)
	if err != nil {
		return sesame.Credential{}, s.fail(c, "unreadable attestation response", err)
	}
	if !s.exactOrigin(parsed.Response.CollectedClientData.Origin) {
		return sesame.Credential{}, s.fail(c, "origin is not exactly a configured one", nil)
	}
	cred, err := s.rp.CreateCredential(newUser(u, nil), *session, parsed)
	if err != nil {
		return sesame.Credential{}, s.fail(c, "attestation not verified", err)
	}
	if len(cred.ID) == 0 || len(cred.ID) > sesame.MaxCredentialIDLength {
		return sesame.Credential{}, s.fail(c, "credential id length out of range", nil)
	}
	now := s.cfg.Now()
	rec := sesame.Credential{
		ID:                cred.ID,
		UserID:            u.ID,
		Name:              name,
		PublicKey:         cred.PublicKey,
		SignCount:         cred.Authenticator.SignCount,
		AAGUID:            cred.Authenticator.AAGUID,
		Attachment:        knownAttachment(cred.Authenticator.Attachment),
		Transports:        knownTransports(cred.Transport),
		AttestationType:   cred.AttestationType,
		AttestationFormat: cred.AttestationFormat,
		UserVerified:      cred.Flags.UserVerified,
		BackupEligible:    cred.Flags.BackupEligible,
		BackupState:       cred.Flags.BackupState,
		Discoverable:      cred.Extensions.RK,
		CreatedAt:         now,
	}
	if rec.Name == "" {
		rec.Name = KnownAuthenticator(rec.AAGUID)
	}
	if rec.Name == "" {
		rec.Name = DefaultName
	}
	if err := s.cfg.Store.CreateCredential(ctx, rec); err != nil {
		return sesame.Credential{}, fmt.Errorf("finish registration: %w", err)
	}
	s.cfg.Logger.Info("passkey added", "user", u.ID, "credential", CredentialID(rec.ID), "aaguid", AAGUIDString(rec.AAGUID),
		"backup_eligible", rec.BackupEligible)
	s.cfg.Mail.Enqueue(mail.Notice(u.Email, mail.NoticePasskeyAdded, mail.NoticeData{
		PasskeyName: rec.Name,
		Time:        now,
		AccountURL:  strings.TrimRight(s.cfg.PublicURL, "/") + "/account",
	}))
	return rec, nil
}

// BeginLogin starts a sign-in. With email "" it is a discoverable login:
// the authenticator offers the user's passkeys (the passkey button, and
// browser autofill). With an email, allowCredentials lists that account's
// credentials; an address without an account or without a passkey gets
// stable fake ones of the same shape, so the answer tells nothing about
// the address (WebAuthn L3 §14.6.2, SECURITY rule 10). It returns the
// ceremony id and the PublicKeyCredentialRequestOptionsJSON.
func (s *Service) BeginLogin(ctx context.Context, email string) (string, json.RawMessage, error) {
	if strings.TrimSpace(email) == "" {
		assertion, session, err := s.rp.BeginDiscoverableLogin()
		if err != nil {
			return "", nil, fmt.Errorf("begin login: %w", err)
		}
		return s.begin(ctx, sesame.CeremonyLogin, "", session, assertion.Response)
	}
	email, err := sesame.NormalizeEmail(email)
	if err != nil {
		return "", nil, err
	}
	var creds []sesame.Credential
	u, err := s.cfg.Store.UserByEmail(ctx, email)
	switch {
	case errors.Is(err, sesame.ErrNotFound):
		// The same queries as for an account, so that the answer takes
		// as long (SECURITY rule 35).
		if _, err := s.cfg.Store.CredentialsByUser(ctx, ""); err != nil {
			return "", nil, fmt.Errorf("begin login: %w", err)
		}
	case err != nil:
		return "", nil, fmt.Errorf("begin login: %w", err)
	case u.DisabledAt == nil:
		if creds, err = s.cfg.Store.CredentialsByUser(ctx, u.ID); err != nil {
			return "", nil, fmt.Errorf("begin login: %w", err)
		}
	}
	who, userID := s.fakeUser(email), ""
	if len(creds) > 0 {
		who, userID = newUser(u, creds), u.ID
	}
	assertion, session, err := s.rp.BeginLogin(who)
	if err != nil {
		return "", nil, fmt.Errorf("begin login: %w", err)
	}
	return s.begin(ctx, sesame.CeremonyLogin, userID, session, assertion.Response)
}

// FinishLogin verifies the assertion response credential against ceremony
// ceremonyID and returns the proof of who signed in, for signin.Complete:
// the user, the credential, and the session's amr values ("swk" for a
// backup-eligible (synced) credential, "hwk" for a device-bound one, and
// "user" when the authenticator verified the user; RFC 8176). Its spend
// stores the credential's new signature counter. On failure the proof
// still names the user and credential when they are known.
func (s *Service) FinishLogin(ctx context.Context, ceremonyID string, credential []byte) (signin.Proof, error) {
	c, session, err := s.load(ctx, ceremonyID)
	if err != nil {
		return signin.Proof{Method: signin.MethodPasskey}, err
	}
	if c.Type != sesame.CeremonyLogin {
		return signin.Proof{Method: signin.MethodPasskey}, s.refuse(ctx, c, "ceremony of another type", nil)
	}
	return s.finishAssertion(ctx, c, session, credential)
}

// BeginMFA starts a passkey check for u as the second factor after a
// password. It fails with bad_request when u has no credential.
func (s *Service) BeginMFA(ctx context.Context, u sesame.User) (string, json.RawMessage, error) {
	creds, err := s.cfg.Store.CredentialsByUser(ctx, u.ID)
	if err != nil {
		return "", nil, fmt.Errorf("begin mfa: %w", err)
	}
	if len(creds) == 0 {
		return "", nil, sesame.Errorf(sesame.EBadRequest, "This account has no passkey.")
	}
	assertion, session, err := s.rp.BeginLogin(newUser(u, creds))
	if err != nil {
		return "", nil, fmt.Errorf("begin mfa: %w", err)
	}
	return s.begin(ctx, sesame.CeremonyMFA, u.ID, session, assertion.Response)
}

// FinishMFA verifies the assertion of an MFA ceremony begun for u and
// returns its proof, as FinishLogin does; the password package turns it
// into the proof of a password sign-in (adding "pwd" and "mfa").
func (s *Service) FinishMFA(ctx context.Context, u sesame.User, ceremonyID string, credential []byte) (signin.Proof, error) {
	failed := signin.Proof{Method: signin.MethodPasskey, User: sesame.User{ID: u.ID}}
	c, session, err := s.load(ctx, ceremonyID)
	if err != nil {
		return failed, err
	}
	if c.Type != sesame.CeremonyMFA || c.UserID != u.ID {
		return failed, s.refuse(ctx, c, "ceremony of another type or user", nil)
	}
	return s.finishAssertion(ctx, c, session, credential)
}

// finishAssertion verifies an assertion for a consumed login or MFA
// ceremony (WebAuthn L3 §7.2) and returns its proof, whose spend records
// the credential's use by compare-and-swap on the counter read here.
func (s *Service) finishAssertion(ctx context.Context, c sesame.Ceremony, session *gowebauthn.SessionData, body []byte) (signin.Proof, error) {
	proof := signin.Proof{Method: signin.MethodPasskey, User: sesame.User{ID: c.UserID}}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(body)
	if err != nil {
		return proof, s.refuse(ctx, c, "unreadable assertion response", err)
	}
	if !s.exactOrigin(parsed.Response.CollectedClientData.Origin) {
		return proof, s.refuse(ctx, c, "origin is not exactly a configured one", nil)
	}
	rec, err := s.cfg.Store.CredentialByID(ctx, parsed.RawID)
	if errors.Is(err, sesame.ErrNotFound) {
		return proof, s.refuse(ctx, c, "unknown credential", nil)
	} else if err != nil {
		return proof, fmt.Errorf("finish %s: %w", c.Type, err)
	}
	proof.User.ID, proof.CredentialID = rec.UserID, rec.ID
	owner, err := s.cfg.Store.UserByID(ctx, rec.UserID)
	if err != nil {
		return proof, fmt.Errorf("finish %s: %w", c.Type, err)
	}
	var cred *gowebauthn.Credential
	if len(session.UserID) == 0 {
		// Discoverable: the user handle must name the credential's owner
		// (WebAuthn L3 §7.2 step 6, SECURITY rule 7). The library refuses
		// an empty handle before calling us.
		_, cred, err = s.rp.ValidatePasskeyLogin(func(rawID, userHandle []byte) (gowebauthn.User, error) {
			if !hmac.Equal(userHandle, owner.WebAuthnHandle) {
				return nil, errors.New("user handle is not the credential owner's")
			}
			return newUser(owner, []sesame.Credential{rec}), nil
		}, *session, parsed)
	} else {
		// Email-first or MFA: the ceremony was begun for one user, and the
		// credential must be theirs.
		if c.UserID == "" || rec.UserID != c.UserID {
			proof.User.ID = c.UserID
			return proof, s.refuse(ctx, c, "credential of another user", nil)
		}
		var creds []sesame.Credential
		if creds, err = s.cfg.Store.CredentialsByUser(ctx, owner.ID); err != nil {
			return proof, fmt.Errorf("finish %s: %w", c.Type, err)
		}
		cred, err = s.rp.ValidateLogin(newUser(owner, creds), *session, parsed)
	}
	if err != nil {
		return proof, s.refuse(ctx, c, "assertion not verified", err)
	}
	// Sign counter (WebAuthn L3 §7.2 step 22, SECURITY rule 8): the library
	// flags a counter that did not increase while either value is non-zero.
	if cred.Authenticator.CloneWarning {
		s.cfg.Logger.Warn("webauthn: possible cloned authenticator: sign counter did not increase; sign-in refused",
			"ceremony", c.Type, "user", owner.ID, "credential", CredentialID(rec.ID),
			"stored_count", rec.SignCount, "presented_count", parsed.Response.AuthenticatorData.Counter)
		return proof, fmt.Errorf("%w: %w", signin.ErrPossibleClone, s.refuse(ctx, c, "possible clone", nil))
	}
	proof.User = owner
	used := rec
	used.SignCount = cred.Authenticator.SignCount
	used.BackupState = cred.Flags.BackupState
	used.UserVerified = cred.Flags.UserVerified
	proof.Spends = append(proof.Spends, func(ctx context.Context, tx signin.Tx, now time.Time) error {
		// The ceremony is spent here, with the session: of two finishes
		// that verified, only one commits.
		if err := tx.ConsumeCeremony(ctx, c.ID, now); errors.Is(err, sesame.ErrNotFound) {
			return errUsed
		} else if err != nil {
			return fmt.Errorf("finish %s: %w", c.Type, err)
		}
		return nil
	}, func(ctx context.Context, tx signin.Tx, now time.Time) error {
		used.LastUsedAt = &now
		if err := tx.UseCredential(ctx, used, rec.SignCount, now); errors.Is(err, sesame.ErrNotFound) {
			// Another sign-in with this credential stored a counter first,
			// or the credential was removed meanwhile.
			s.cfg.Logger.Warn("webauthn: credential changed during sign-in; refused", "ceremony", c.Type,
				"user", owner.ID, "credential", CredentialID(rec.ID))
			return errFailed
		} else if err != nil {
			return fmt.Errorf("finish %s: %w", c.Type, err)
		}
		return nil
	})
	proof.AMR = []string{"hwk"}
	if used.BackupEligible {
		proof.AMR[0] = "swk"
	}
	// Whether this ceremony verified the user is its own UV flag, not the
	// record's (WebAuthn L3 §7.2 step 17).
	if parsed.Response.AuthenticatorData.Flags.HasUserVerified() {
		proof.AMR = append(proof.AMR, "user")
	}
	return proof, nil
}

// exactOrigin reports whether origin, as the client put it in
// clientDataJSON, is byte for byte one of the configured origins.
func (s *Service) exactOrigin(origin string) bool {
	return slices.Contains(s.origins, origin)
}

// List returns the user's credentials, oldest first.
func (s *Service) List(ctx context.Context, userID string) ([]sesame.Credential, error) {
	creds, err := s.cfg.Store.CredentialsByUser(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("list credentials: %w", err)
	}
	return creds, nil
}

// Rename names the user's credential id; not_found when the user has no
// such credential.
func (s *Service) Rename(ctx context.Context, userID string, id []byte, name string) (sesame.Credential, error) {
	name, err := CleanName(name)
	if err != nil {
		return sesame.Credential{}, err
	}
	if name == "" {
		return sesame.Credential{}, sesame.Errorf(sesame.EBadRequest, "Give the passkey a name.")
	}
	c, err := s.cfg.Store.RenameCredential(ctx, userID, id, name)
	if errors.Is(err, sesame.ErrNotFound) {
		return c, errNoCredential
	} else if err != nil {
		return c, fmt.Errorf("rename credential: %w", err)
	}
	return c, nil
}

// Remove deletes the user's credential id; not_found when the user has no
// such credential. The caller checks for a recent sign-in.
func (s *Service) Remove(ctx context.Context, userID string, id []byte) error {
	if err := s.cfg.Store.DeleteCredential(ctx, userID, id); errors.Is(err, sesame.ErrNotFound) {
		return errNoCredential
	} else if err != nil {
		return fmt.Errorf("remove credential: %w", err)
	}
	s.cfg.Logger.Info("passkey removed", "user", userID, "credential", CredentialID(id))
	return nil
}

var errNoCredential = sesame.Errorf(sesame.ENotFound, "No such passkey.")

// CleanName trims a credential name and checks it: valid UTF-8, at most
// MaxNameLength characters, control characters turned into spaces. An
// empty name stays empty.
func CleanName(name string) (string, error) {
	if !utf8.ValidString(name) {
		return "", sesame.Errorf(sesame.EBadRequest, "The name is not valid text.")
	}
	name = strings.TrimSpace(strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, name))
	if utf8.RuneCountInString(name) > MaxNameLength {
		return "", sesame.Errorf(sesame.EBadRequest, "A passkey name is at most %d characters.", MaxNameLength)
	}
	return name, nil
}

// knownTransports keeps the transports WebAuthn L3 §5.8.4 defines, once
// each: the client sends the list, so it is not stored unchecked.
func knownTransports(in []protocol.AuthenticatorTransport) []string {
	var out []string
	for _, t := range in {
		switch t {
		case protocol.USB, protocol.NFC, protocol.BLE, protocol.SmartCard, protocol.Hybrid, protocol.Internal:
			if !slices.Contains(out, string(t)) {
				out = append(out, string(t))
			}
		}
	}
	return out
}

// knownAttachment is the client's authenticatorAttachment if it is one
// WebAuthn defines, else "".
func knownAttachment(a protocol.AuthenticatorAttachment) string {
	if a == protocol.Platform || a == protocol.CrossPlatform {
		return string(a)
	}
	return ""
}

// begin stores session as a new ceremony and returns its id with options
// (the library's publicKey object, the W3C JSON form).
func (s *Service) begin(ctx context.Context, kind, userID string, session *gowebauthn.SessionData, options any) (string, json.RawMessage, error) {
	state, err := json.Marshal(session)
	if err != nil {
		return "", nil, fmt.Errorf("begin %s: %w", kind, err)
	}
	body, err := json.Marshal(options)
	if err != nil {
		return "", nil, fmt.Errorf("begin %s: %w", kind, err)
	}
	now := s.cfg.Now()
	c := sesame.Ceremony{ID: sesame.NewID(), Type: kind, UserID: userID, Session: state, CreatedAt: now, ExpiresAt: now.Add(CeremonyTTL)}
	if err := s.cfg.Store.CreateCeremony(ctx, c); err != nil {
		return "", nil, fmt.Errorf("begin %s: %w", kind, err)
	}
	return c.ID, body, nil
}

// consume spends ceremony id, whatever the finish's outcome will be, and
// returns it with its session data. A used ceremony answers used; an
// expired or unknown one (swept, or never issued) answers expired.
func (s *Service) consume(ctx context.Context, id string) (sesame.Ceremony, *gowebauthn.SessionData, error) {
	if id == "" || len(id) > 64 {
		return sesame.Ceremony{}, nil, errExpired
	}
	c, err := s.cfg.Store.ConsumeCeremony(ctx, id, s.cfg.Now())
	if errors.Is(err, sesame.ErrNotFound) {
		old, err := s.cfg.Store.Ceremony(ctx, id)
		switch {
		case errors.Is(err, sesame.ErrNotFound):
			return c, nil, errExpired
		case err != nil:
			return c, nil, fmt.Errorf("ceremony: %w", err)
		case old.ConsumedAt != nil:
			return c, nil, errUsed
		}
		return c, nil, errExpired
	} else if err != nil {
		return c, nil, fmt.Errorf("consume ceremony: %w", err)
	}
	var session gowebauthn.SessionData
	if err := json.Unmarshal(c.Session, &session); err != nil {
		return c, nil, fmt.Errorf("ceremony %s: session data: %w", c.ID, err)
	}
	return c, &session, nil
}

// load reads ceremony id for a sign-in or MFA finish without spending
// it: the sign-in's transaction spends it (the proof's first spend), so
// that of two finishes of one ceremony only one makes a session, and
// refuse spends it at once when the finish fails. A used ceremony answers
// used; an expired or unknown one (swept, or never issued) answers
// expired.
func (s *Service) load(ctx context.Context, id string) (sesame.Ceremony, *gowebauthn.SessionData, error) {
	if id == "" || len(id) > 64 {
		return sesame.Ceremony{}, nil, errExpired
	}
	c, err := s.cfg.Store.Ceremony(ctx, id)
	switch {
	case errors.Is(err, sesame.ErrNotFound):
		return c, nil, errExpired
	case err != nil:
		return c, nil, fmt.Errorf("ceremony: %w", err)
	case c.ConsumedAt != nil:
		return c, nil, errUsed
	case !s.cfg.Now().Before(c.ExpiresAt):
		return c, nil, errExpired
	}
	var session gowebauthn.SessionData
	if err := json.Unmarshal(c.Session, &session); err != nil {
		return c, nil, fmt.Errorf("ceremony %s: session data: %w", c.ID, err)
	}
	return c, &session, nil
}

// refuse spends a loaded ceremony whose finish failed, so that it is used
// once whatever the outcome (SECURITY rule 1), and answers as fail does.
func (s *Service) refuse(ctx context.Context, c sesame.Ceremony, why string, err error) error {
	if _, cerr := s.cfg.Store.ConsumeCeremony(ctx, c.ID, s.cfg.Now()); cerr != nil && !errors.Is(cerr, sesame.ErrNotFound) {
		s.cfg.Logger.Warn("webauthn: failed ceremony not spent", "ceremony", c.Type, "err", cerr)
	}
	return s.fail(c, why, err)
}

// fail logs why a finish failed, without any secret: only the library's
// error type and summary, never its debug information, which can hold the
// challenge (SECURITY rule 39). The caller gets errFailed.
func (s *Service) fail(c sesame.Ceremony, why string, err error) error {
	attrs := []any{"ceremony", c.Type, "user", c.UserID, "why", why}
	var pe *protocol.Error
	if errors.As(err, &pe) {
		attrs = append(attrs, "type", pe.Type, "reason", pe.Details)
		if pe.DevInfo != "" {
			attrs = append(attrs, "info", redact(pe.DevInfo))
		}
	} else if err != nil {
		attrs = append(attrs, "reason", "unexpected error")
	}
	s.cfg.Logger.Info("webauthn ceremony failed", attrs...)
	return errFailed
}

// longToken matches what could be a challenge, a user handle or a key in
// any of the encodings the library prints: runs of base64, base64url or hex.
var longToken = regexp.MustCompile(`[A-Za-z0-9_+/-]{20,}=*`)

// redact keeps the library's debug information readable but drops every
// long encoded value from it, and caps its length.
func redact(info string) string {
	info = longToken.ReplaceAllString(info, "…")
	if len(info) > 300 {
		info = strings.ToValidUTF8(info[:300], "") + "…"
	}
	return info
}

// fakeUser is the user behind an email-first login for an address without
// an account or without a passkey: one or two credentials whose ids are
// derived from HMAC(FakeCredentialKey, email), so they are stable across
// calls and look like real ones (SECURITY rule 10).
func (s *Service) fakeUser(email string) *user {
	mac := func(parts ...string) []byte {
		h := hmac.New(sha256.New, s.cfg.FakeCredentialKey)
		for _, p := range parts {
			h.Write([]byte(p))
			h.Write([]byte{0})
		}
		return h.Sum(nil)
	}
	seed := mac("shape", email)
	n := 1 + int(seed[0]%2)
	creds := make([]sesame.Credential, n)
	for i := range creds {
		id := mac("id", email, string(rune('0'+i)))
		if seed[1+i]%2 == 0 {
			id = id[:16] // device-bound keys often use 16-byte ids
		}
		creds[i] = sesame.Credential{ID: id, Transports: []string{"hybrid", "internal"}}
	}
	handle := mac("handle", email)
	return newUser(sesame.User{Email: email, WebAuthnHandle: handle}, creds)
}
