// Package account runs the account's own life: its display name, a change
// of email address confirmed by a code sent to the new address, and its
// deletion; and, for operators, listing, disabling, enabling and deleting
// users.
package account

import (
	"context"
	"crypto/hmac"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/magiclink"
	"github.com/sesame-auth/sesame/mail"
)

// Store is the storage accounts need; db.DB implements it.
type Store interface {
	UserByID(ctx context.Context, id string) (sesame.User, error)
	UserByEmail(ctx context.Context, email string) (sesame.User, error)
	SetUserName(ctx context.Context, userID, name string) (sesame.User, error)
	ChangeUserEmail(ctx context.Context, userID, email string) (sesame.User, error)
	DeleteUser(ctx context.Context, userID string) (sesame.User, error)
	SetUserDisabled(ctx context.Context, userID string, disabled bool, now time.Time) (sesame.User, error)
	Users(ctx context.Context) ([]sesame.UserSummary, error)
	LastSignIn(ctx context.Context, userID string) (*time.Time, error)

	// The code confirming a new address is an email flow of purpose
	// FlowEmailChange, its subject the user id.
	CreateEmailFlow(ctx context.Context, f sesame.EmailFlow, mails ...sesame.QueuedMail) error
	EmailFlow(ctx context.Context, id string) (sesame.EmailFlow, error)
	CountCodeAttempt(ctx context.Context, id string, now time.Time, maxAttempts int) (sesame.EmailFlow, error)
	ConsumeEmailFlow(ctx context.Context, id string, now time.Time) error
}

// Mailer queues a message for delivery off the request path.
type Mailer interface {
	Enqueue(d mail.Draft) bool
}

// SessionEnder ends every session of a user and tells the apps that hold
// tokens of them (token.Sessions, with the OpenID Connect provider's
// Back-Channel Logout).
type SessionEnder interface {
	EndAll(ctx context.Context, userID string) (int, error)
}

// FlowEmailChange is the purpose of the email flow that confirms a new
// address.
const FlowEmailChange = "email_change"

// Defaults.
const (
	MaxNameLength      = 64 // characters
	DefaultCodeTTL     = 15 * time.Minute
	DefaultMaxAttempts = 5
)

// Config configures a Service.
type Config struct {
	Store Store
	// Mail sends the code confirming a new address.
	Mail Mailer
	// Notices sends notices, within the per-user cap (SECURITY rule 57);
	// Mail when unset.
	Notices Mailer
	// Sessions, when set, ends a deleted account's sessions first, so the
	// apps holding their tokens are told before the rows go.
	Sessions SessionEnder
	// CodeKey is the HMAC key of emailed codes (sesame.PurposeCodeMAC).
	CodeKey []byte
	// PublicURL is the origin notices link to.
	PublicURL   string
	CodeTTL     time.Duration
	MaxAttempts int
	Now         func() time.Time
}

// Service changes and deletes accounts. It is safe for concurrent use.
type Service struct {
	cfg Config
}

// New returns a Service, filling in defaults.
func New(cfg Config) *Service {
	if cfg.CodeTTL == 0 {
		cfg.CodeTTL = DefaultCodeTTL
	}
	if cfg.MaxAttempts == 0 {
		cfg.MaxAttempts = DefaultMaxAttempts
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Notices == nil {
		cfg.Notices = cfg.Mail
	}
	return &Service{cfg: cfg}
}

// ErrGone answers a request for an account deleted meanwhile.
var ErrGone = sesame.Errorf(sesame.EUnauthorized, "This account no longer exists.")

// Rename sets userID's display name: at most MaxNameLength characters of
// valid UTF-8 without control or format characters, spaces trimmed; ""
// removes it.
func (s *Service) Rename(ctx context.Context, userID, name string) (sesame.User, error) {
	name = strings.TrimSpace(name)
	if !utf8.ValidString(name) || utf8.RuneCountInString(name) > MaxNameLength || strings.IndexFunc(name, func(r rune) bool {
		return unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == '\u2028' || r == '\u2029'
	}) >= 0 {
		return sesame.User{}, sesame.Errorf(sesame.EBadRequest, "A name is at most %d characters, without control characters.", MaxNameLength)
	}
	u, err := s.cfg.Store.SetUserName(ctx, userID, name)
	if errors.Is(err, sesame.ErrNotFound) {
		return u, ErrGone
	}
	return u, err
}

// StartEmailChange sends a code to the address u wants to move to and
// returns the flow it belongs to. If the address belongs to another
// account, that account's owner is told someone tried, and the flow is
// made all the same with a code that matches nothing: the person asking
// learns nothing, and no code works.
func (s *Service) StartEmailChange(ctx context.Context, u sesame.User, email string) (string, error) {
	email, err := sesame.NormalizeEmail(email)
	if err != nil {
		return "", err
	}
	if email == u.Email {
		return "", sesame.Errorf(sesame.EBadRequest, "That is already your address.")
	}
	other, err := s.cfg.Store.UserByEmail(ctx, email)
	taken := err == nil && other.ID != u.ID
	if err != nil && !errors.Is(err, sesame.ErrNotFound) {
		return "", fmt.Errorf("email change: %w", err)
	}
	now, id, code := s.cfg.Now(), sesame.NewID(), magiclink.NewCode()
	mac := magiclink.CodeMAC(s.cfg.CodeKey, id, code)
	if taken {
		mac = sesame.RandomBytes(len(mac)) // the MAC of no code
	}
	f := sesame.EmailFlow{
		ID: id, Purpose: FlowEmailChange, Email: email, Subject: u.ID,
		CodeMAC: mac, Sends: 1, CreatedAt: now, ExpiresAt: now.Add(s.cfg.CodeTTL),
	}
	if err := s.cfg.Store.CreateEmailFlow(ctx, f); err != nil {
		return "", fmt.Errorf("email change: %w", err)
	}
	if taken {
		s.cfg.Notices.Enqueue(mail.Notice(email, mail.NoticeEmailTaken, mail.NoticeData{Time: now}))
	} else {
		s.cfg.Mail.Enqueue(mail.EmailChangeCode(email, code, int(s.cfg.CodeTTL/time.Minute)))
	}
	return id, nil
}

var (
	errChangeExpired = sesame.Errorf(sesame.EExpired, "The code has expired, or too many were wrong. Start again.")
	errChangeUsed    = sesame.Errorf(sesame.EUsed, "This change is already done.")
)

// VerifyEmailChange checks the code of userID's email change and, when it
// is right, moves the account to the new address. It returns the user as
// it was and as it is now, and tells the old address, with the time and
// the device. Sessions stay. The code is spent by
// one conditional UPDATE; each wrong one answers invalid_code with
// attempts_left, and after MaxAttempts the flow is dead.
func (s *Service) VerifyEmailChange(ctx context.Context, userID, flowID, code string, c sesame.Client) (old, now sesame.User, err error) {
	if !magiclink.ValidCodeFormat(code) {
		return old, now, sesame.Errorf(sesame.EBadRequest, "The code is 6 digits.")
	}
	if flowID == "" {
		return old, now, sesame.Errorf(sesame.EBadRequest, "flow_id is required.")
	}
	// Only the user who started it may guess: another user's tries count
	// nothing against the flow.
	if f, err := s.cfg.Store.EmailFlow(ctx, flowID); errors.Is(err, sesame.ErrNotFound) || (err == nil && (f.Purpose != FlowEmailChange || f.Subject != userID)) {
		return old, now, errChangeExpired
	} else if err != nil {
		return old, now, fmt.Errorf("email change: %w", err)
	}
	at := s.cfg.Now()
	f, err := s.cfg.Store.CountCodeAttempt(ctx, flowID, at, s.cfg.MaxAttempts)
	if errors.Is(err, sesame.ErrNotFound) {
		return old, now, s.whyNotLive(ctx, flowID, userID)
	} else if err != nil {
		return old, now, fmt.Errorf("email change: %w", err)
	}
	if !hmac.Equal(magiclink.CodeMAC(s.cfg.CodeKey, f.ID, code), f.CodeMAC) {
		left := max(0, s.cfg.MaxAttempts-f.Attempts)
		return old, now, &sesame.Error{Code: sesame.EInvalidCode, Message: "That code is not right.", Extra: map[string]any{"attempts_left": left}}
	}
	if err := s.cfg.Store.ConsumeEmailFlow(ctx, f.ID, at); errors.Is(err, sesame.ErrNotFound) {
		return old, now, errChangeUsed // a concurrent verify won
	} else if err != nil {
		return old, now, fmt.Errorf("email change: %w", err)
	}
	old, err = s.cfg.Store.ChangeUserEmail(ctx, userID, f.Email)
	switch {
	case sesame.ErrorCode(err) == sesame.EConflict:
		return old, now, sesame.Errorf(sesame.EConflict, "That address now belongs to another account.")
	case errors.Is(err, sesame.ErrNotFound):
		return old, now, ErrGone
	case err != nil:
		return old, now, fmt.Errorf("email change: %w", err)
	}
	now = old
	now.Email = f.Email
	s.cfg.Notices.Enqueue(mail.Notice(old.Email, mail.NoticeEmailChanged, s.noticeData(c)))
	return old, now, nil
}

// whyNotLive explains a flow that took no attempt, saying nothing about
// another user's flows.
func (s *Service) whyNotLive(ctx context.Context, id, userID string) error {
	f, err := s.cfg.Store.EmailFlow(ctx, id)
	switch {
	case errors.Is(err, sesame.ErrNotFound):
		return errChangeExpired
	case err != nil:
		return fmt.Errorf("email change: %w", err)
	case f.Purpose == FlowEmailChange && f.Subject == userID && f.ConsumedAt != nil:
		return errChangeUsed
	}
	return errChangeExpired
}

// Delete deletes userID with everything that signs it in (its passkeys,
// password, authenticator app, recovery codes, sessions and their refresh
// tokens, the apps' consents and tokens) and returns the user as it was, to send the last notice. Of two
// concurrent deletes one succeeds; the other answers ErrGone.
func (s *Service) Delete(ctx context.Context, userID string, c sesame.Client) (sesame.User, error) {
	if s.cfg.Sessions != nil {
		// Ended first, while the apps' grants still name the sessions:
		// each app holding tokens gets its Back-Channel Logout token.
		if _, err := s.cfg.Sessions.EndAll(ctx, userID); err != nil {
			return sesame.User{}, fmt.Errorf("delete account: %w", err)
		}
	}
	u, err := s.cfg.Store.DeleteUser(ctx, userID)
	if errors.Is(err, sesame.ErrNotFound) {
		return u, ErrGone
	} else if err != nil {
		return u, fmt.Errorf("delete account: %w", err)
	}
	d := s.noticeData(c)
	d.AccountURL = "" // there is no account left to review
	s.cfg.Notices.Enqueue(mail.Notice(u.Email, mail.NoticeAccountDeleted, d))
	return u, nil
}

// SetDisabled disables or enables userID; disabling ends its sessions in
// the same transaction (SECURITY rule 32).
func (s *Service) SetDisabled(ctx context.Context, userID string, disabled bool) (sesame.User, error) {
	u, err := s.cfg.Store.SetUserDisabled(ctx, userID, disabled, s.cfg.Now())
	if err != nil {
		return u, fmt.Errorf("disable account: %w", err)
	}
	return u, nil
}

// List lists every user with the last successful sign-in, oldest first.
func (s *Service) List(ctx context.Context) ([]sesame.UserSummary, error) {
	return s.cfg.Store.Users(ctx)
}

// ByEmail finds the user with the address email, as an operator types it.
func (s *Service) ByEmail(ctx context.Context, email string) (sesame.User, error) {
	email, err := sesame.NormalizeEmail(email)
	if err != nil {
		return sesame.User{}, err
	}
	u, err := s.cfg.Store.UserByEmail(ctx, email)
	if errors.Is(err, sesame.ErrNotFound) {
		return u, sesame.Errorf(sesame.ENotFound, "No user has the address %s.", email)
	}
	return u, err
}

// LastSignIn is userID's last successful sign-in, or nil.
func (s *Service) LastSignIn(ctx context.Context, userID string) (*time.Time, error) {
	return s.cfg.Store.LastSignIn(ctx, userID)
}

func (s *Service) noticeData(c sesame.Client) mail.NoticeData {
	return mail.NoticeData{Device: c.UserAgent, IP: c.IP, Time: s.cfg.Now(), AccountURL: s.cfg.PublicURL + "/account"}
}

// CodeTTL is how long a code confirming a new address lives.
func (s *Service) CodeTTL() time.Duration { return s.cfg.CodeTTL }
