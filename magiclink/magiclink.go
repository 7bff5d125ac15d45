// Package magiclink runs the emailed sign-in: one message carrying a link
// (its token in the URL fragment) and a 6-digit code, either of which ends
// the flow. It signs in existing accounts and, when sign-up is open, creates
// the account when the flow completes.
package magiclink

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/mail"
	"github.com/sesame-auth/sesame/signin"
)

// Store is the storage the flows need; db.DB implements it.
type Store interface {
	// CreateEmailFlow stores f with the mails that announce it, in one
	// transaction.
	CreateEmailFlow(ctx context.Context, f sesame.EmailFlow, mails ...sesame.QueuedMail) error
	EmailFlow(ctx context.Context, id string) (sesame.EmailFlow, error)
	EmailFlowByTokenHash(ctx context.Context, hash []byte) (sesame.EmailFlow, error)
	CountCodeAttempt(ctx context.Context, id string, now time.Time, maxAttempts int) (sesame.EmailFlow, error)
	ConsumeEmailFlow(ctx context.Context, id string, now time.Time) error
	ConsumeEmailLink(ctx context.Context, hash []byte, now time.Time, maxAttempts int) (sesame.EmailFlow, error)
	UserByEmail(ctx context.Context, email string) (sesame.User, error)
	EnsureUser(ctx context.Context, u sesame.User) (sesame.User, bool, error)
}

// Mailer is the durable outbox (mail.Queue): Prepare seals a draft, the
// store queues it with the flow, Queued wakes a worker to send it. Drafts
// are rendered by the workers, off the request path, so known and unknown
// addresses answer in the same time (SECURITY rule 35).
type Mailer interface {
	Prepare(d mail.Draft, expires time.Time) (sesame.QueuedMail, error)
	Queued(n int)
}

// Defaults of SECURITY.md rules 13 and 18.
const (
	DefaultFlowTTL     = 15 * time.Minute
	DefaultMaxAttempts = 5
)

// Config configures a Service.
type Config struct {
	Store Store
	Mail  Mailer
	// CodeKey is the HMAC key for codes (sesame.PurposeCodeMAC).
	CodeKey []byte
	// PublicURL is the origin links are built from, never a request's Host
	// (SECURITY rule 15).
	PublicURL   string
	SignupOpen  bool
	FlowTTL     time.Duration
	MaxAttempts int
	Now         func() time.Time
}

// Service runs email flows. It is safe for concurrent use.
type Service struct {
	cfg Config
}

// New returns a Service, filling in defaults.
func New(cfg Config) *Service {
	if cfg.FlowTTL == 0 {
		cfg.FlowTTL = DefaultFlowTTL
	}
	if cfg.MaxAttempts == 0 {
		cfg.MaxAttempts = DefaultMaxAttempts
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Service{cfg: cfg}
}

// Started is what a caller learns about a new flow.
type Started struct {
	FlowID    string
	ExpiresIn time.Duration
	// Email is the normalised address, for rate limiting and audit.
	Email string
}

// Start begins a flow for email and queues the message. It answers the same
// for addresses with and without an account; with sign-up closed, an
// address without an account gets a flow that cannot complete and a
// message saying there is no account.
//
// requester (the client's IP) is kept as the flow's subject: a new flow
// ends the older live flows asked for by the same requester only, so
// starts from another IP do not end the owner's (SECURITY rule 56).
func (s *Service) Start(ctx context.Context, email, requester string) (Started, error) {
	return s.StartIn(ctx, email, requester, "")
}

// StartIn is Start with the message written in language (the page's, as
// mail.Language reads it; "" is English). An address without an account
// is asked to finish creating it, one with an account to sign in; every
// address is looked up alike, so the work tells nothing.
func (s *Service) StartIn(ctx context.Context, email, requester, language string) (Started, error) {
	email, err := sesame.NormalizeEmail(email)
	if err != nil {
		return Started{}, err
	}
	now := s.cfg.Now()
	_, err = s.cfg.Store.UserByEmail(ctx, email)
	newAccount := errors.Is(err, sesame.ErrNotFound)
	if err != nil && !newAccount {
		return Started{}, fmt.Errorf("start email flow: %w", err)
	}
	send := s.cfg.SignupOpen || !newAccount
	token, code := sesame.NewToken(), NewCode()
	f := sesame.EmailFlow{
		ID:        sesame.NewID(),
		Purpose:   sesame.FlowSignIn,
		Email:     email,
		Subject:   "from " + requester,
		TokenHash: HashToken(token),
		Sends:     1,
		CreatedAt: now,
		ExpiresAt: now.Add(s.cfg.FlowTTL),
	}
	f.CodeMAC = CodeMAC(s.cfg.CodeKey, f.ID, code)
	// Both messages are drafts of about the same size, sealed alike and
	// rendered later by a worker: their cost does not tell known from
	// unknown addresses.
	d := mail.Notice(email, mail.NoticeNoAccount, mail.NoticeData{Time: now})
	if send {
		d = mail.SignIn(mail.SignInData{
			To:               email,
			Link:             s.cfg.PublicURL + "/auth/link#t=" + token,
			Code:             code,
			ExpiresInMinutes: int(s.cfg.FlowTTL / time.Minute),
			IsNewAccount:     newAccount,
			Language:         mail.Language(language),
		})
	}
	m, err := s.cfg.Mail.Prepare(d, f.ExpiresAt)
	if err != nil {
		return Started{}, fmt.Errorf("start email flow: %w", err)
	}
	if err := s.cfg.Store.CreateEmailFlow(ctx, f, m); err != nil {
		return Started{}, fmt.Errorf("start email flow: %w", err)
	}
	s.cfg.Mail.Queued(1)
	return Started{FlowID: f.ID, ExpiresIn: s.cfg.FlowTTL, Email: email}, nil
}

// VerifyCode checks code against flowID and returns the proof of the
// sign-in for signin.Complete, whose spend ends the flow: of a concurrent
// code and link only one makes a session. A wrong code answers
// invalid_code with attempts_left; after MaxAttempts wrong codes the flow,
// link included, answers expired — even to the right code. On failure the
// proof names the flow's account when there is one.
func (s *Service) VerifyCode(ctx context.Context, flowID, code string) (signin.Proof, error) {
	failed := signin.Proof{Method: signin.MethodEmailCode}
	if !ValidCodeFormat(code) {
		return failed, sesame.Errorf(sesame.EBadRequest, "The code is 6 digits.")
	}
	now := s.cfg.Now()
	f, err := s.cfg.Store.CountCodeAttempt(ctx, flowID, now, s.cfg.MaxAttempts)
	if errors.Is(err, sesame.ErrNotFound) {
		return failed, s.whyNotLive(s.cfg.Store.EmailFlow(ctx, flowID))
	} else if err != nil {
		return failed, fmt.Errorf("verify code: %w", err)
	}
	if f.Purpose != sesame.FlowSignIn {
		return failed, errExpired
	}
	if !hmac.Equal(CodeMAC(s.cfg.CodeKey, f.ID, code), f.CodeMAC) {
		// Known and unknown addresses make the same read here, so the
		// answer's time tells nothing (SECURITY rule 35).
		if u, err := s.cfg.Store.UserByEmail(ctx, f.Email); err == nil {
			failed.User.ID = u.ID
		}
		left := max(0, s.cfg.MaxAttempts-f.Attempts)
		return failed, &sesame.Error{Code: sesame.EInvalidCode, Message: "That code is not right.", Extra: map[string]any{"attempts_left": left}}
	}
	proof, err := s.complete(ctx, f, signin.MethodEmailCode)
	proof.Spends = append(proof.Spends, func(ctx context.Context, tx signin.Tx, now time.Time) error {
		if err := tx.ConsumeEmailFlow(ctx, f.ID, now); errors.Is(err, sesame.ErrNotFound) {
			return errUsed // a concurrent link or code won
		} else if err != nil {
			return fmt.Errorf("verify code: %w", err)
		}
		return nil
	})
	return proof, err
}

// ConsumeLink spends the flow of a link token and returns the proof of the
// sign-in. Only this POST spends a token; GET /auth/link renders a page
// and changes nothing, so mail scanners that follow links cannot burn it
// (SECURITY rule 14). Finding the flow is spending it, so the proof has no
// spend of its own.
func (s *Service) ConsumeLink(ctx context.Context, token string) (signin.Proof, error) {
	failed := signin.Proof{Method: signin.MethodEmailLink}
	hash, err := parseToken(token)
	if err != nil {
		return failed, err
	}
	f, err := s.cfg.Store.ConsumeEmailLink(ctx, hash, s.cfg.Now(), s.cfg.MaxAttempts)
	if errors.Is(err, sesame.ErrNotFound) {
		return failed, s.whyNotLive(s.cfg.Store.EmailFlowByTokenHash(ctx, hash))
	} else if err != nil {
		return failed, fmt.Errorf("consume link: %w", err)
	}
	return s.complete(ctx, f, signin.MethodEmailLink)
}

// LinkInfo tells the confirm page which (masked) address a link signs in,
// without spending it, against login CSRF (SECURITY rule 16).
func (s *Service) LinkInfo(ctx context.Context, token string) (maskedEmail string, expiresIn time.Duration, err error) {
	hash, err := parseToken(token)
	if err != nil {
		return "", 0, err
	}
	f, err := s.cfg.Store.EmailFlowByTokenHash(ctx, hash)
	if err != nil && !errors.Is(err, sesame.ErrNotFound) {
		return "", 0, fmt.Errorf("link info: %w", err)
	}
	now := s.cfg.Now()
	if err != nil || f.ConsumedAt != nil || !now.Before(f.ExpiresAt) || f.Attempts >= s.cfg.MaxAttempts {
		return "", 0, s.whyNotLive(f, err)
	}
	return sesame.MaskEmail(f.Email), f.ExpiresAt.Sub(now), nil
}

// complete finds, or with open sign-up makes, the account of a verified
// flow and returns its proof. Whether the account may sign in is
// signin.Complete's to say.
func (s *Service) complete(ctx context.Context, f sesame.EmailFlow, method string) (signin.Proof, error) {
	proof := signin.Proof{Method: method, AMR: []string{"otp"}}
	var err error
	if s.cfg.SignupOpen {
		proof.User, proof.SignedUp, err = s.cfg.Store.EnsureUser(ctx, sesame.User{
			ID: sesame.NewID(), Email: f.Email, WebAuthnHandle: sesame.RandomBytes(32), CreatedAt: s.cfg.Now(),
		})
	} else {
		proof.User, err = s.cfg.Store.UserByEmail(ctx, f.Email)
		if errors.Is(err, sesame.ErrNotFound) {
			return proof, sesame.Errorf(sesame.EForbidden, "Sign-up is closed: there is no account for this address.")
		}
	}
	if err != nil {
		return proof, fmt.Errorf("complete email flow: %w", err)
	}
	return proof, nil
}

var (
	errExpired = sesame.Errorf(sesame.EExpired, "This sign-in has expired. Start again.")
	errUsed    = sesame.Errorf(sesame.EUsed, "This sign-in was already used. Start again.")
)

// whyNotLive explains a flow that a conditional update did not match. An
// unknown flow looks expired: it may have been swept.
func (s *Service) whyNotLive(f sesame.EmailFlow, err error) error {
	switch {
	case errors.Is(err, sesame.ErrNotFound):
		return errExpired
	case err != nil:
		return fmt.Errorf("email flow: %w", err)
	case f.ConsumedAt != nil:
		return errUsed
	}
	return errExpired
}

// HashToken is how a link token is stored: SHA-256 of its bytes.
func HashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

func parseToken(token string) ([]byte, error) {
	if b, err := base64.RawURLEncoding.DecodeString(token); err != nil || len(b) != 32 {
		return nil, sesame.Errorf(sesame.EBadRequest, "This link is not valid. Copy the whole link from the email.")
	}
	return HashToken(token), nil
}
