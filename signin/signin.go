// Package signin decides, in one place, what a completed sign-in means.
//
// Every way in — a passkey, an email link or code, a password followed by
// an emailed code or a passkey, and the recovery codes, TOTP and OIDC
// flows built on this package — verifies its factor itself and hands
// over a Proof: who (User), how (Method and the RFC 8176 AMR values), with
// which credential, from which client, and the writes (Spends) that use up
// its one-time secret or record the credential's new signature counter.
//
// Complete checks the account is active (sesame.User.Active: a refused
// proof's spends still run, so it is used up), then writes
// the spends, the session with its first refresh token, the end of the
// oldest sessions beyond the cap (MaxSessions) and the audit events in one
// short write transaction — all of them or none — and after
// the commit queues the new-device notice. Fail records a failed attempt:
// the sign-in metric and an audit event that names the user whenever the
// proof does. Nothing here verifies a signature or holds a lock while it
// does; HTTP stays in package server.
//
// A new way in needs three things: build a Proof (its Spends run in the
// transaction, so a Spend that answers an error leaves nothing written);
// if it spends a new kind of secret, add that write to Tx and implement it
// in package db; and hand the Proof and the verification error to the
// server's finishSignIn.
package signin

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/audit"
	"github.com/sesame-auth/sesame/mail"
	"github.com/sesame-auth/sesame/token"
)

// Methods: how a sign-in was made, for the metric, the audit log and the
// activity page. They are labels, not amr values.
const (
	MethodPasskey         = "passkey"
	MethodEmailCode       = "email_code"
	MethodEmailLink       = "email_link"
	MethodPassword        = "password" // the first step of a password sign-in
	MethodPasswordEmail   = "password_email"
	MethodPasswordPasskey = "password_passkey"
)

// Proof is what a way in verified. On failure a way in still returns what
// it learnt — the method always, the user's id and the credential id when
// the secret or credential named them — so that Fail can record it.
type Proof struct {
	// User is the account the factor proved; on failure, at least its ID
	// when known.
	User   sesame.User
	Method string
	// AMR are the session's RFC 8176 values ("swk", "user", "otp", …).
	AMR []string
	// CredentialID is the passkey used, if any.
	CredentialID []byte
	// Client is who asked; the server fills it in.
	Client sesame.Client
	// SignedUp says the account was made by this proof's flow: a sign_up
	// event is recorded with the sign-in.
	SignedUp bool
	// Spends are the proof's writes, run first in the sign-in transaction,
	// in order.
	Spends []Spend
}

// Spend is one write of a Proof: it uses up the proof's one-time secret
// (an email flow, an MFA-pending token) or stores the credential's new
// signature counter by compare-and-swap. It answers the error the client
// should see when the write does not match (used, or ceremony_failed): the
// whole sign-in is then rolled back.
type Spend func(ctx context.Context, tx Tx, now time.Time) error

// RunSpends runs p's spends in tx, in order. Complete does this; it is
// exported for the tests of the packages that build proofs.
func (p Proof) RunSpends(ctx context.Context, tx Tx, now time.Time) error {
	for _, spend := range p.Spends {
		if err := spend(ctx, tx, now); err != nil {
			return err
		}
	}
	return nil
}

// Tx is the writes one sign-in transaction may make; db.Tx implements it.
// A method answers sesame.ErrNotFound when its conditional write matches
// no row, and an error with code sesame.EConflict when a once-only insert
// was already made.
type Tx interface {
	ConsumeCeremony(ctx context.Context, id string, now time.Time) error
	// SpendChallenge records a sign-in ticket's challenge (by its hash)
	// as used, until it expires.
	SpendChallenge(ctx context.Context, hash []byte, expires time.Time) error
	UseCredential(ctx context.Context, c sesame.Credential, oldSignCount uint32, now time.Time) error
	ConsumeEmailFlow(ctx context.Context, id string, now time.Time) error
	UseMFAToken(ctx context.Context, jti, userID, reason string, now, expires time.Time) error
	CreateSession(ctx context.Context, s sesame.Session, refreshHash []byte) error
	// PriorSessions reads what the sign-in needs of userID's sessions:
	// whether userAgent is a new device, where the cap of keep falls.
	PriorSessions(ctx context.Context, userID, userAgent string, keep int) (sesame.PriorSessions, error)
	// EndSessionsBefore ends userID's live sessions created before
	// before but newID, and says how many.
	EndSessionsBefore(ctx context.Context, userID, newID string, before, now time.Time) (int, error)
	InsertAuditEvent(ctx context.Context, e sesame.AuditEvent) error
}

// Store runs sign-in transactions. Build it from *db.DB with StoreOf.
type Store interface {
	// SignInTx runs fn in one write transaction, committed only when fn
	// returns nil.
	SignInTx(ctx context.Context, fn func(Tx) error) error
}

// TxStore is a store whose transactions hand over a concrete T, as
// db.DB.SignInTx hands a *db.Tx.
type TxStore[T Tx] interface {
	SignInTx(ctx context.Context, fn func(T) error) error
}

// StoreOf adapts a TxStore (signin.StoreOf[*db.Tx](d)) to Store.
func StoreOf[T Tx](s TxStore[T]) Store { return adapted[T]{s} }

type adapted[T Tx] struct{ s TxStore[T] }

func (a adapted[T]) SignInTx(ctx context.Context, fn func(Tx) error) error {
	return a.s.SignInTx(ctx, func(tx T) error { return fn(tx) })
}

// Mailer queues a message in the durable outbox (mail.Queue), whose
// workers render and send it off the request path.
type Mailer interface {
	Enqueue(d mail.Draft) bool
}

// ErrPossibleClone marks, inside a ceremony_failed error, an assertion
// whose signature counter did not increase (WebAuthn L3 §7.2 step 22,
// SECURITY rule 8). The client sees the usual failure; Fail also records a
// possible_clone audit event.
var ErrPossibleClone = errors.New("possible cloned authenticator: the signature counter did not increase")

// DefaultMaxSessions is how many live sessions one account keeps: a new
// sign-in beyond it ends the oldest, so per-user state stays bounded
// (issue 12) however often an account signs in without signing out.
const DefaultMaxSessions = 50

// Config configures a Service.
type Config struct {
	Store Store
	// Sessions mints sessions and answers the new-device question.
	Sessions *token.Sessions
	Audit    *audit.Log
	Notices  Mailer
	// PublicURL is the origin notices link to.
	PublicURL string
	// MaxSessions caps live sessions per account; 0 means
	// DefaultMaxSessions.
	MaxSessions int
	Logger      *slog.Logger
	Now         func() time.Time
}

// Service completes and records sign-ins. It is safe for concurrent use.
type Service struct {
	cfg     Config
	signIns *prometheus.CounterVec
}

// New returns a Service.
func New(cfg Config) *Service {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.MaxSessions <= 0 {
		cfg.MaxSessions = DefaultMaxSessions
	}
	return &Service{cfg: cfg, signIns: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "sesame_sign_ins_total", Help: "Completed and failed sign-ins by method and result.",
	}, []string{"method", "result"})}
}

// Collector is the sign-in metric, for the server's registry.
func (s *Service) Collector() prometheus.Collector { return s.signIns }

// Result is a completed sign-in: the new session and its first refresh
// token, for the client.
type Result struct {
	User      sesame.User
	Session   sesame.Session
	Refresh   string
	NewDevice bool
}

// Complete turns p into a session. It refuses an inactive account with
// sesame.ErrAccountDisabled, whatever the way in, after running p's
// spends alone, so that the refused proof cannot be replayed. Then one transaction
// runs p's spends, stores the session with its first refresh token and
// the audit events; if any of them fails, none is kept and the error (as
// the spend answered it) is recorded by Fail and returned. A sign-in from
// a device the account has not signed in from before, on an account that
// has, queues a notice after the commit.
func (s *Service) Complete(ctx context.Context, p Proof) (Result, error) {
	if !p.User.Active() {
		// The refused proof is still used up (SECURITY rules 1 and 13):
		// otherwise the same code, assertion or MFA token would make a
		// session once the account is enabled again.
		if err := s.cfg.Store.SignInTx(ctx, func(tx Tx) error { return p.RunSpends(ctx, tx, s.cfg.Now()) }); err != nil {
			s.Fail(ctx, p, err)
			return Result{}, fmt.Errorf("sign in: %w", err)
		}
		s.Fail(ctx, p, sesame.ErrAccountDisabled)
		return Result{}, sesame.ErrAccountDisabled
	}
	sess, refresh, refreshHash := s.cfg.Sessions.Mint(p.User.ID, p.AMR, p.Client)
	var events []sesame.AuditEvent
	if p.SignedUp {
		events = append(events, s.cfg.Audit.Stamp(s.event(p, audit.SignUp, "success")))
	}
	events = append(events, s.cfg.Audit.Stamp(s.event(p, audit.SignIn, "success")))
	now := s.cfg.Now()
	var prior sesame.PriorSessions
	err := s.cfg.Store.SignInTx(ctx, func(tx Tx) (err error) {
		if err := p.RunSpends(ctx, tx, now); err != nil {
			return err
		}
		// Read in the transaction, before the new session is there: on
		// SQLite on the writer's warm page cache.
		if prior, err = tx.PriorSessions(ctx, p.User.ID, sess.UserAgent, s.cfg.MaxSessions); err != nil {
			return err
		}
		if err := tx.CreateSession(ctx, sess, refreshHash); err != nil {
			return err
		}
		if !prior.EndBefore.IsZero() {
			if _, err := tx.EndSessionsBefore(ctx, p.User.ID, sess.ID, prior.EndBefore, now); err != nil {
				return err
			}
		}
		for _, e := range events {
			if err := tx.InsertAuditEvent(ctx, e); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		s.Fail(ctx, p, err)
		return Result{}, fmt.Errorf("sign in: %w", err)
	}
	for _, e := range events {
		s.cfg.Audit.Logged(e)
	}
	s.signIns.WithLabelValues(p.Method, "success").Inc()
	if prior.NewDevice() {
		s.cfg.Notices.Enqueue(mail.Notice(p.User.Email, mail.NoticeNewDevice, mail.NoticeData{
			Device: p.Client.UserAgent, IP: p.Client.IP, Time: sess.CreatedAt,
			AccountURL: strings.TrimRight(s.cfg.PublicURL, "/") + "/account",
		}))
	}
	return Result{User: p.User, Session: sess, Refresh: refresh, NewDevice: prior.NewDevice()}, nil
}

// Fail records a sign-in attempt that failed with err: the metric, and an
// audit event naming the user and credential when p does. A possible
// clone (ErrPossibleClone) gets a possible_clone event as well.
func (s *Service) Fail(ctx context.Context, p Proof, err error) {
	code := sesame.ErrorCode(err)
	s.signIns.WithLabelValues(p.Method, code).Inc()
	s.cfg.Audit.Record(ctx, s.event(p, audit.SignIn, code))
	if errors.Is(err, ErrPossibleClone) {
		s.cfg.Audit.Record(ctx, s.event(p, audit.PossibleClone, code))
	}
}

// FirstFactor records the first step of a two-step sign-in (a password)
// that succeeded: the metric and audit event say mfa_required.
func (s *Service) FirstFactor(ctx context.Context, p Proof) {
	s.signIns.WithLabelValues(p.Method, "mfa_required").Inc()
	s.cfg.Audit.Record(ctx, s.event(p, audit.SignIn, "mfa_required"))
}

// event is p's audit event.
func (s *Service) event(p Proof, name, result string) sesame.AuditEvent {
	e := sesame.AuditEvent{Event: name, Result: result, Method: p.Method, UserID: p.User.ID,
		IP: p.Client.IP, UserAgent: p.Client.UserAgent}
	if len(p.CredentialID) > 0 {
		e.CredentialID = base64.RawURLEncoding.EncodeToString(p.CredentialID)
	}
	return e
}
