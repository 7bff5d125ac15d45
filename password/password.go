// Package password runs Sesame's optional password: set by the browser as
// SCRAM-SHA-256 keys (RFC 5802, RFC 7677), so the password itself never
// reaches the server, and proved by challenge-response at sign-in. A proved
// password yields only an MFA-pending token; this package also runs the
// emailed second-factor code that completes such a sign-in.
//
// The server side of SCRAM is github.com/xdg-go/scram. Its conversations
// live in memory, so a login keeps its client-first message and server
// nonce in the database and finish replays them into a fresh conversation:
// any instance can finish what another began.
//
// Known limit (SECURITY rule 26): StoredKey from a stolen database plus one
// observed exchange lets an attacker pass the password step. That is why a
// second factor always follows, and why TLS is required beyond localhost.
// OPAQUE (RFC 9807) is the upgrade that would close it.
package password

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/mail"
)

// Store is the storage the password needs; db.DB implements it.
type Store interface {
	UserByID(ctx context.Context, id string) (sesame.User, error)
	UserByEmail(ctx context.Context, email string) (sesame.User, error)

	CreatePasswordSet(ctx context.Context, id, userID string, salt []byte, iterations int, now, expires time.Time) error
	FinishPasswordSet(ctx context.Context, id, userID string, storedKey, serverKey []byte, now time.Time) (replaced bool, err error)
	PasswordOf(ctx context.Context, userID string) (salt []byte, iterations int, storedKey, serverKey []byte, err error)
	HasPassword(ctx context.Context, userID string) (bool, error)
	DeletePassword(ctx context.Context, userID string) (bool, error)

	CreateSCRAMLogin(ctx context.Context, id, userID, clientFirst, serverNonce string, now, expires time.Time) error
	ConsumeSCRAMLogin(ctx context.Context, id string, now time.Time) (userID, clientFirst, serverNonce string, err error)
	SCRAMLoginConsumed(ctx context.Context, id string) (bool, error)

	// The second-factor code is an email flow of purpose sesame.FlowMFA.
	CreateEmailFlow(ctx context.Context, f sesame.EmailFlow, mails ...sesame.QueuedMail) error
	EmailFlow(ctx context.Context, id string) (sesame.EmailFlow, error)
	ResendEmailFlow(ctx context.Context, id string, codeMAC []byte, now time.Time, maxSends int, mails ...sesame.QueuedMail) (sesame.EmailFlow, error)
	CountCodeAttempt(ctx context.Context, id string, now time.Time, maxAttempts int) (sesame.EmailFlow, error)
	ConsumeEmailFlow(ctx context.Context, id string, now time.Time) error
	UseMFAToken(ctx context.Context, jti, userID, reason string, now, expires time.Time) error
	MFATokenUsed(ctx context.Context, jti string) (bool, error)
	// CountMFACodeAttempt counts authenticator-app and recovery codes
	// guessed with one MFA-pending token.
	CountMFACodeAttempt(ctx context.Context, jti string, expires time.Time) (int, error)
}

// Mailer is the durable outbox (mail.Queue). A code's mail is prepared,
// then queued by the store in the transaction that stores the code, then
// announced with Queued; notices are queued on their own with Enqueue.
type Mailer interface {
	Prepare(d mail.Draft, expires time.Time) (sesame.QueuedMail, error)
	Queued(n int)
	Enqueue(d mail.Draft) bool
}

// Credentials lists a user's passkeys, to offer one as the second factor;
// db.DB implements it.
type Credentials interface {
	CredentialsByUser(ctx context.Context, userID string) ([]sesame.Credential, error)
}

// Defaults of SECURITY.md rules 18, 21 and 22.
const (
	// MinIterations is the fewest PBKDF2-HMAC-SHA-256 iterations accepted
	// (OWASP Password Storage Cheat Sheet).
	MinIterations = 600_000
	// MaxIterations bounds what a client may be asked to compute.
	MaxIterations = 10_000_000
	// SaltLength is the length of every salt, real or fake (rule 25: the
	// same shape for unknown users).
	SaltLength = 16

	DefaultLoginTTL    = 60 * time.Second
	DefaultSetTTL      = 10 * time.Minute
	DefaultCodeTTL     = 5 * time.Minute
	DefaultMaxAttempts = 5
	// DefaultMaxSends is one send and at most three resends per code.
	DefaultMaxSends = 4
)

// Config configures a Service.
type Config struct {
	Store Store
	Mail  Mailer
	// FakeSaltKey derives the stable fake salts of addresses without a
	// password (sesame.PurposeFakeSalt).
	FakeSaltKey []byte
	// CodeKey is the HMAC key for second-factor codes (sesame.PurposeCodeMAC).
	CodeKey []byte
	// PublicURL is the origin notices link to.
	PublicURL string
	// Credentials, when set, says who has passkeys to offer as the second
	// factor; without it only email_otp is offered.
	Credentials Credentials
	// Factors, when set, says who has an authenticator app or recovery
	// codes to offer as the second factor.
	Factors Factors
	// Tarpit, when set, slows password guessing per address: Begin refuses
	// while the address must wait, and so does Finish, which counts the
	// attempt before checking the proof (SECURITY rules 34, 53).
	Tarpit Tarpit
	// OpenLogins, when set, is asked before a login is begun for an
	// address and refuses when too many are open (SECURITY rule 53).
	OpenLogins func(ctx context.Context, email string) error
	// Iterations is the PBKDF2 count new passwords get: MinIterations by
	// default. Fewer is allowed only with a loud warning (load tests).
	Iterations  int
	LoginTTL    time.Duration
	SetTTL      time.Duration
	CodeTTL     time.Duration
	MaxAttempts int
	MaxSends    int
	Logger      *slog.Logger
	Now         func() time.Time
}

// Tarpit delays repeated failures for one subject; limit.Tarpit is one.
// Claim counts an attempt as a failure before its proof is checked, or
// refuses it while the subject must wait; Succeed clears the count.
type Tarpit interface {
	Check(ctx context.Context, subject string) error
	Claim(ctx context.Context, subject string) error
	Succeed(ctx context.Context, subject string) error
}

// Service sets, removes and checks passwords and runs the second factor
// that follows them. It is safe for concurrent use.
type Service struct {
	cfg Config
}

// New returns a Service, filling in defaults.
func New(cfg Config) *Service {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Iterations == 0 {
		cfg.Iterations = MinIterations
	}
	if cfg.Iterations < MinIterations {
		cfg.Logger.Warn("password: PBKDF2 iterations below the safe minimum; use only for load tests",
			"iterations", cfg.Iterations, "minimum", MinIterations)
	}
	if cfg.LoginTTL == 0 {
		cfg.LoginTTL = DefaultLoginTTL
	}
	if cfg.SetTTL == 0 {
		cfg.SetTTL = DefaultSetTTL
	}
	if cfg.CodeTTL == 0 {
		cfg.CodeTTL = DefaultCodeTTL
	}
	if cfg.MaxAttempts == 0 {
		cfg.MaxAttempts = DefaultMaxAttempts
	}
	if cfg.MaxSends == 0 {
		cfg.MaxSends = DefaultMaxSends
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Service{cfg: cfg}
}

// SetChallenge is what the browser needs to derive a new password's keys.
type SetChallenge struct {
	SetID      string
	Salt       []byte
	Iterations int
	ExpiresIn  time.Duration
}

// SetBegin starts setting (or changing) userID's password: a fresh salt
// from crypto/rand and the iteration count, kept under a single-use set id
// for SetTTL (SECURITY rules 20, 21).
func (s *Service) SetBegin(ctx context.Context, userID string) (SetChallenge, error) {
	now := s.cfg.Now()
	ch := SetChallenge{SetID: sesame.NewID(), Salt: sesame.RandomBytes(SaltLength), Iterations: s.cfg.Iterations, ExpiresIn: s.cfg.SetTTL}
	if err := s.cfg.Store.CreatePasswordSet(ctx, ch.SetID, userID, ch.Salt, ch.Iterations, now, now.Add(s.cfg.SetTTL)); err != nil {
		return SetChallenge{}, fmt.Errorf("set password: %w", err)
	}
	return ch, nil
}

// SetKeys is what the browser derived for a new password.
type SetKeys struct {
	SetID string
	// Iterations, when not 0, is the count the client says it used; it
	// must be the one SetBegin gave (SECURITY rule 21).
	Iterations int
	StoredKey  []byte // H(ClientKey), RFC 5802 §3
	ServerKey  []byte // HMAC(SaltedPassword, "Server Key")
}

// SetFinish stores userID's new password as the salt and iteration count
// of its set, StoredKey and ServerKey: nothing the client proves knowledge
// of (SECURITY rule 20). It emails the user a notice and reports whether an
// older password was replaced, whose sessions the caller should end.
func (s *Service) SetFinish(ctx context.Context, userID string, k SetKeys, c sesame.Client) (replaced bool, err error) {
	switch {
	case k.SetID == "":
		return false, sesame.Errorf(sesame.EBadRequest, "set_id is required.")
	case k.Iterations != 0 && k.Iterations < MinIterations:
		return false, sesame.Errorf(sesame.EBadRequest, "A password needs at least %d iterations.", MinIterations)
	case k.Iterations != 0 && k.Iterations != s.cfg.Iterations:
		return false, sesame.Errorf(sesame.EBadRequest, "Derive the keys with the %d iterations set/begin gave.", s.cfg.Iterations)
	case len(k.StoredKey) != keyLength || len(k.ServerKey) != keyLength:
		return false, sesame.Errorf(sesame.EBadRequest, "stored_key and server_key are %d bytes each, in base64.", keyLength)
	}
	u, err := s.cfg.Store.UserByID(ctx, userID)
	if err != nil {
		return false, fmt.Errorf("set password: %w", err)
	}
	replaced, err = s.cfg.Store.FinishPasswordSet(ctx, k.SetID, userID, k.StoredKey, k.ServerKey, s.cfg.Now())
	if errors.Is(err, sesame.ErrNotFound) {
		return false, sesame.Errorf(sesame.EExpired, "Setting the password took too long. Start again.")
	} else if err != nil {
		return false, fmt.Errorf("set password: %w", err)
	}
	kind := mail.NoticePasswordSet
	if replaced {
		kind = mail.NoticePasswordChanged
	}
	s.notify(u, kind, c)
	return replaced, nil
}

// Remove deletes userID's password and reports whether there was one; the
// caller ends the user's other sessions when there was (SECURITY rule 32).
func (s *Service) Remove(ctx context.Context, userID string, c sesame.Client) (bool, error) {
	u, err := s.cfg.Store.UserByID(ctx, userID)
	if err != nil {
		return false, fmt.Errorf("remove password: %w", err)
	}
	removed, err := s.cfg.Store.DeletePassword(ctx, userID)
	if err != nil {
		return false, fmt.Errorf("remove password: %w", err)
	}
	if removed {
		s.notify(u, mail.NoticePasswordRemoved, c)
	}
	return removed, nil
}

// Has reports whether userID has a password.
func (s *Service) Has(ctx context.Context, userID string) (bool, error) {
	return s.cfg.Store.HasPassword(ctx, userID)
}

// notify queues a security notice to u (SECURITY rule 40).
func (s *Service) notify(u sesame.User, kind mail.NoticeKind, c sesame.Client) {
	s.cfg.Mail.Enqueue(mail.Notice(u.Email, kind, mail.NoticeData{
		Device:     c.UserAgent,
		IP:         c.IP,
		Time:       s.cfg.Now(),
		AccountURL: s.cfg.PublicURL + "/account",
	}))
}
