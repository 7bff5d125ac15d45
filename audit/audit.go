// Package audit records security events in the database, for users' own
// activity page and for operators, and as structured log lines.
package audit

import (
	"context"
	"log/slog"
	"time"

	"github.com/sesame-auth/sesame"
)

// Store keeps events; db.DB implements it.
type Store interface {
	InsertAuditEvent(ctx context.Context, e sesame.AuditEvent) error
	AuditEvents(ctx context.Context, userID string, limit int) ([]sesame.AuditEvent, error)
}

// Event names.
const (
	SignIn          = "sign_in"
	SignUp          = "sign_up"
	RefreshReused   = "refresh_reused"
	SessionEnded    = "session_ended"
	AllSessionsEnd  = "all_sessions_ended"
	PasskeyAdded    = "passkey_added"
	PasskeyRemoved  = "passkey_removed"
	PasskeyRenamed  = "passkey_renamed"
	PasswordSet     = "password_set"
	PasswordRemoved = "password_removed"
	// PossibleClone is a passkey whose signature counter did not increase
	// (SECURITY rule 8): the sign-in was refused.
	PossibleClone = "possible_clone"
)

// Log records events. It is safe for concurrent use.
type Log struct {
	store Store
	log   *slog.Logger
	now   func() time.Time
}

// New returns a Log.
func New(store Store, log *slog.Logger, now func() time.Time) *Log {
	if now == nil {
		now = time.Now
	}
	return &Log{store: store, log: log, now: now}
}

// Stamp gives e its id and time, for an event the caller stores in a
// transaction of its own (package signin); call Logged after the commit.
func (l *Log) Stamp(e sesame.AuditEvent) sesame.AuditEvent {
	e.ID, e.At = sesame.NewID(), l.now()
	// Client strings are cut before they reach the log or the table, so
	// that no request can make either grow by more than a few hundred
	// bytes (SECURITY rule 54).
	e.UserAgent = sesame.ClipClientString(e.UserAgent)
	return e
}

// Logged writes the log line of e, which the caller stored.
func (l *Log) Logged(e sesame.AuditEvent) {
	l.log.Info("audit", "event", e.Event, "result", e.Result, "method", e.Method, "user", e.UserID,
		"credential", e.CredentialID, "ip", e.IP, "user_agent", e.UserAgent, "detail", e.Detail)
}

// Record stores e and logs it. A failure to store is logged, never
// returned: an audit hiccup must not fail a sign-in.
func (l *Log) Record(ctx context.Context, e sesame.AuditEvent) {
	e = l.Stamp(e)
	l.Logged(e)
	if err := l.store.InsertAuditEvent(ctx, e); err != nil {
		l.log.Error("audit event not stored", "event", e.Event, "err", err)
	}
}

// Recent returns userID's latest events, newest first.
func (l *Log) Recent(ctx context.Context, userID string, limit int) ([]sesame.AuditEvent, error) {
	return l.store.AuditEvents(ctx, userID, limit)
}
