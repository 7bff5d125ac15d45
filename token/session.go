package token

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sesame-auth/sesame"
)

// SessionStore is the storage sessions and their refresh-token families
// need; db.DB implements it.
type SessionStore interface {
	CreateSession(ctx context.Context, s sesame.Session, refreshHash []byte) error
	SessionByID(ctx context.Context, id string) (sesame.Session, error)
	RotateRefreshToken(ctx context.Context, hash, next []byte, now, idleSince time.Time) (sesame.Session, sesame.User, error)
	SessionIDByRefreshToken(ctx context.Context, hash []byte) (string, error)
	RevokeSession(ctx context.Context, userID, id string, now time.Time) error
	RevokeUserSessions(ctx context.Context, userID string, now time.Time) (int, error)
	RevokeOtherSessions(ctx context.Context, userID, keepID string, now time.Time) (int, error)
	UserSessions(ctx context.Context, userID string, now, idleSince time.Time) ([]sesame.Session, error)
	ClaimReuseNotice(ctx context.Context, id string, now time.Time) (bool, error)
}

// Session lifetimes of SECURITY.md rule 31.
const (
	DefaultSessionMaxAge      = 30 * 24 * time.Hour
	DefaultSessionIdleTimeout = 7 * 24 * time.Hour
)

// SessionsConfig configures Sessions.
type SessionsConfig struct {
	Store SessionStore
	// MaxAge is the absolute lifetime from sign-in; rotation never extends it.
	MaxAge time.Duration
	// IdleTimeout ends a session not refreshed for this long.
	IdleTimeout time.Duration
	Now         func() time.Time
	// Ended, when set, hears of every session that ends, by whatever
	// route, so that the tokens apps hold for it die with it.
	Ended EndListener
}

// EndListener is told that sessions of userID have ended; the OpenID
// Connect provider implements it (Back-Channel Logout).
type EndListener interface {
	SessionsEnded(ctx context.Context, userID string)
}

// Sessions starts, rotates and ends sessions. It is safe for concurrent use.
type Sessions struct {
	cfg SessionsConfig
}

// NewSessions returns Sessions, filling in defaults.
func NewSessions(cfg SessionsConfig) *Sessions {
	if cfg.MaxAge == 0 {
		cfg.MaxAge = DefaultSessionMaxAge
	}
	if cfg.IdleTimeout == 0 {
		cfg.IdleTimeout = DefaultSessionIdleTimeout
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Sessions{cfg: cfg}
}

// errSessionEnded is the one answer for every refresh that cannot continue.
var errSessionEnded = sesame.Errorf(sesame.EUnauthorized, "Your session has ended. Sign in again.")

// Mint makes a new session of userID and its first refresh token without
// storing them: package signin writes both in its sign-in transaction.
// refreshHash is what the store keeps; refresh goes to the client.
func (s *Sessions) Mint(userID string, amr []string, c sesame.Client) (sess sesame.Session, refresh string, refreshHash []byte) {
	now := s.cfg.Now()
	sess = sesame.Session{
		ID: sesame.NewID(), UserID: userID, CreatedAt: now, LastUsedAt: now,
		ExpiresAt: now.Add(s.cfg.MaxAge), AuthTime: now, AMR: amr,
		UserAgent: truncate(c.UserAgent, 512), IP: c.IP,
	}
	refresh, refreshHash = newRefresh()
	return sess, refresh, refreshHash
}

// Start records a new sign-in of userID and returns it with its first
// refresh token.
func (s *Sessions) Start(ctx context.Context, userID string, amr []string, c sesame.Client) (sesame.Session, string, error) {
	sess, refresh, hash := s.Mint(userID, amr, c)
	if err := s.cfg.Store.CreateSession(ctx, sess, hash); err != nil {
		return sesame.Session{}, "", fmt.Errorf("start session: %w", err)
	}
	return sess, refresh, nil
}

// Refreshed is a refresh that went through: the session as it now is, its
// user (read in the same transaction) and the successor token.
type Refreshed struct {
	Session sesame.Session
	User    sesame.User
	Token   string
}

// Refresh spends refresh and returns its session with the successor token.
// A token that was already spent revokes its whole family and returns
// sesame.ErrRefreshReused with the session, so the caller can tell the user
// (RFC 9700 §4.14.2).
func (s *Sessions) Refresh(ctx context.Context, refresh string) (Refreshed, error) {
	hash, ok := parseRefresh(refresh)
	if !ok {
		return Refreshed{}, errSessionEnded
	}
	now := s.cfg.Now()
	next, nextKey := newRefresh()
	// One transaction spends the token, checks the session is live, marks
	// it used, stores the successor and reads the session's user.
	sess, owner, err := s.cfg.Store.RotateRefreshToken(ctx, hash, nextKey, now, now.Add(-s.cfg.IdleTimeout))
	switch {
	case errors.Is(err, sesame.ErrRefreshReused):
		full, lerr := s.cfg.Store.SessionByID(ctx, sess.ID)
		if lerr != nil {
			return Refreshed{}, errors.Join(err, lerr)
		}
		s.ended(ctx, full.UserID)
		return Refreshed{Session: full}, err
	case errors.Is(err, sesame.ErrNotFound):
		return Refreshed{}, errSessionEnded
	case err != nil:
		return Refreshed{}, fmt.Errorf("refresh: %w", err)
	}
	return Refreshed{Session: sess, User: owner, Token: next}, nil
}

// FirstReuseNotice reports whether the owner of session id should be told
// of a replayed refresh token: true once per session family, so replaying
// a spent token again and again sends one mail (SECURITY rule 57).
func (s *Sessions) FirstReuseNotice(ctx context.Context, id string) (bool, error) {
	return s.cfg.Store.ClaimReuseNotice(ctx, id, s.cfg.Now())
}

// Get returns the session id if it is still live.
func (s *Sessions) Get(ctx context.Context, id string) (sesame.Session, error) {
	sess, err := s.cfg.Store.SessionByID(ctx, id)
	if errors.Is(err, sesame.ErrNotFound) || (err == nil && !s.live(sess, s.cfg.Now())) {
		return sesame.Session{}, errSessionEnded
	} else if err != nil {
		return sesame.Session{}, fmt.Errorf("get session: %w", err)
	}
	return sess, nil
}

// EndByRefresh ends the session refresh belongs to. An unknown token is
// not an error: logging out twice is fine.
func (s *Sessions) EndByRefresh(ctx context.Context, refresh string) error {
	hash, ok := parseRefresh(refresh)
	if !ok {
		return nil
	}
	id, err := s.cfg.Store.SessionIDByRefreshToken(ctx, hash)
	if errors.Is(err, sesame.ErrNotFound) {
		return nil
	} else if err != nil {
		return fmt.Errorf("end session: %w", err)
	}
	sess, err := s.cfg.Store.SessionByID(ctx, id)
	if err != nil {
		return fmt.Errorf("end session: %w", err)
	}
	return s.End(ctx, sess.UserID, id)
}

// End revokes userID's session id. Ending an already ended session of the
// user is not an error; a session of someone else is not found.
func (s *Sessions) End(ctx context.Context, userID, id string) error {
	err := s.cfg.Store.RevokeSession(ctx, userID, id, s.cfg.Now())
	if err == nil {
		s.ended(ctx, userID)
	}
	if errors.Is(err, sesame.ErrNotFound) {
		if sess, lerr := s.cfg.Store.SessionByID(ctx, id); lerr == nil && sess.UserID == userID {
			return nil
		}
		return sesame.Errorf(sesame.ENotFound, "No such session.")
	}
	return err
}

// EndAll revokes every session of userID.
func (s *Sessions) EndAll(ctx context.Context, userID string) (int, error) {
	n, err := s.cfg.Store.RevokeUserSessions(ctx, userID, s.cfg.Now())
	if err == nil {
		s.ended(ctx, userID)
	}
	return n, err
}

// EndOthers revokes every session of userID but keepID, after a factor
// was changed or removed (SECURITY rule 32).
func (s *Sessions) EndOthers(ctx context.Context, userID, keepID string) (int, error) {
	n, err := s.cfg.Store.RevokeOtherSessions(ctx, userID, keepID, s.cfg.Now())
	if err == nil && n > 0 {
		s.ended(ctx, userID)
	}
	return n, err
}

// Ended tells the listener that sessions of userID were ended by a route
// outside Sessions (the database's DisableUser, an account deleted), so
// that the apps holding their tokens hear of it too.
func (s *Sessions) Ended(ctx context.Context, userID string) { s.ended(ctx, userID) }

// ended tells the listener that sessions of userID have ended.
func (s *Sessions) ended(ctx context.Context, userID string) {
	if s.cfg.Ended != nil {
		s.cfg.Ended.SessionsEnded(ctx, userID)
	}
}

// List returns userID's live sessions, most recently used first.
func (s *Sessions) List(ctx context.Context, userID string) ([]sesame.Session, error) {
	now := s.cfg.Now()
	return s.cfg.Store.UserSessions(ctx, userID, now, now.Add(-s.cfg.IdleTimeout))
}

func (s *Sessions) live(sess sesame.Session, now time.Time) bool {
	return sess.RevokedAt == nil && now.Before(sess.ExpiresAt) && now.Before(sess.LastUsedAt.Add(s.cfg.IdleTimeout))
}

// A refresh token is "<id>.<secret>": id a time-ordered sesame.NewID, the
// secret 32 random bytes (base64url). The store keys it by refreshKey: the
// id's bytes, then SHA-256 of the secret. Keys that lead with the time
// make every new token an append at the right edge of the key's index
// instead of a write to a random page of it, which kept a long run's
// refreshes and sign-ins slowing down as the table outgrew the page cache
// (docs/performance.md). The lookup is by the whole key, as it was by the
// hash alone: only the hash of a 256-bit secret is ever compared.
const refreshIDLength = 22

// newRefresh returns a new refresh token and its key.
func newRefresh() (token string, key []byte) {
	id, secret := sesame.NewID(), sesame.NewToken()
	return id + "." + secret, refreshKey(id, secret)
}

func refreshKey(id, secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return append([]byte(id), h[:]...)
}

// parseRefresh returns the key of token, or false when token is not one:
// a token of the format before ids (a bare secret) is not, and so ends
// its session's refreshes like any unknown token.
func parseRefresh(token string) ([]byte, bool) {
	id, secret, ok := strings.Cut(token, ".")
	if !ok || len(id) != refreshIDLength {
		return nil, false
	}
	if b, err := base64.RawURLEncoding.DecodeString(secret); err != nil || len(b) != 32 {
		return nil, false
	}
	return refreshKey(id, secret), true
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
