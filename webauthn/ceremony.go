package webauthn

// Ceremony state: stored whole at begin (or carried by a sign-in's ticket), spent once at finish, and failures logged without secrets.

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	gowebauthn "github.com/go-webauthn/webauthn/webauthn"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/signin"
)

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

// ceremony is what a finish checks a response against: a stored ceremony
// (registration, second factor, approval), or a sign-in's ticket.
type ceremony struct {
	sesame.Ceremony
	// challengeHash is set for a ticket (ticket.go): the hash of its
	// challenge, spent in spent_challenges instead of a stored row.
	challengeHash []byte
	// discoverable says the authenticator names the user.
	discoverable bool
}

// spend uses c up inside the sign-in transaction: of two finishes that
// verified, only one commits.
func (c ceremony) spend(ctx context.Context, tx signin.Tx, now time.Time) error {
	var err error
	if c.challengeHash != nil {
		err = tx.SpendChallenge(ctx, c.challengeHash, c.ExpiresAt)
	} else {
		err = tx.ConsumeCeremony(ctx, c.ID, now)
	}
	switch {
	case errors.Is(err, sesame.ErrNotFound), sesame.ErrorCode(err) == sesame.EConflict:
		return errUsed
	case err != nil:
		return fmt.Errorf("finish %s: %w", c.Type, err)
	}
	return nil
}

// fromTicket opens id as a sign-in ticket, or answers ok false.
func (s *Service) fromTicket(id string) (c ceremony, session *gowebauthn.SessionData, ok bool) {
	t, ok := s.open(purposeLogin, id)
	if !ok {
		return c, nil, false
	}
	c = ceremony{Ceremony: sesame.Ceremony{Type: sesame.CeremonyLogin, UserID: t.userID, ExpiresAt: t.expires},
		challengeHash: challengeHash(t.challenge), discoverable: t.discoverable}
	// What the library's begin made, rebuilt: the challenge and, for an
	// account's ceremony, its user handle (filled in by finishAssertion,
	// which reads the account). Expiry is checked by the callers on the
	// service's clock.
	copied := *s.loginSession
	copied.Challenge = base64.RawURLEncoding.EncodeToString(t.challenge)
	return c, &copied, true
}

// consume spends ceremony id, whatever the finish's outcome will be, and
// returns it with its session data. A used ceremony answers used; an
// expired or unknown one (swept, or never issued) answers expired. A
// sign-in's ticket is spent and returned without session data: it is of
// another type than every ceremony consume serves.
func (s *Service) consume(ctx context.Context, id string) (ceremony, *gowebauthn.SessionData, error) {
	if c, _, ok := s.fromTicket(id); ok {
		if !s.cfg.Now().Before(c.ExpiresAt) {
			return c, nil, errExpired
		}
		if err := s.spendTicket(ctx, c); err != nil {
			return c, nil, err
		}
		return c, nil, nil
	}
	if id == "" || len(id) > MaxCeremonyIDLength {
		return ceremony{}, nil, errExpired
	}
	c, err := s.cfg.Store.ConsumeCeremony(ctx, id, s.cfg.Now())
	if errors.Is(err, sesame.ErrNotFound) {
		old, err := s.cfg.Store.Ceremony(ctx, id)
		switch {
		case errors.Is(err, sesame.ErrNotFound):
			return ceremony{Ceremony: c}, nil, errExpired
		case err != nil:
			return ceremony{Ceremony: c}, nil, fmt.Errorf("ceremony: %w", err)
		case old.ConsumedAt != nil:
			return ceremony{Ceremony: c}, nil, errUsed
		}
		return ceremony{Ceremony: c}, nil, errExpired
	} else if err != nil {
		return ceremony{Ceremony: c}, nil, fmt.Errorf("consume ceremony: %w", err)
	}
	var session gowebauthn.SessionData
	if err := json.Unmarshal(c.Session, &session); err != nil {
		return ceremony{Ceremony: c}, nil, fmt.Errorf("ceremony %s: session data: %w", c.ID, err)
	}
	return ceremony{Ceremony: c}, &session, nil
}

// load reads ceremony id for a sign-in or MFA finish without spending
// it: the sign-in's transaction spends it (the proof's first spend), so
// that of two finishes of one ceremony only one makes a session, and
// refuse spends it at once when the finish fails. A used ceremony answers
// used; an expired or unknown one (swept, or never issued) answers
// expired. A sign-in's ticket is read from id alone: an altered one
// answers expired, like an unknown id, and whether it was used is only
// known when it is spent.
func (s *Service) load(ctx context.Context, id string) (ceremony, *gowebauthn.SessionData, error) {
	if c, session, ok := s.fromTicket(id); ok {
		if !s.cfg.Now().Before(c.ExpiresAt) {
			return c, nil, errExpired
		}
		return c, session, nil
	}
	if id == "" || len(id) > MaxCeremonyIDLength {
		return ceremony{}, nil, errExpired
	}
	c, err := s.cfg.Store.Ceremony(ctx, id)
	switch {
	case errors.Is(err, sesame.ErrNotFound):
		return ceremony{Ceremony: c}, nil, errExpired
	case err != nil:
		return ceremony{Ceremony: c}, nil, fmt.Errorf("ceremony: %w", err)
	case c.ConsumedAt != nil:
		return ceremony{Ceremony: c}, nil, errUsed
	case !s.cfg.Now().Before(c.ExpiresAt):
		return ceremony{Ceremony: c}, nil, errExpired
	}
	var session gowebauthn.SessionData
	if err := json.Unmarshal(c.Session, &session); err != nil {
		return ceremony{Ceremony: c}, nil, fmt.Errorf("ceremony %s: session data: %w", c.ID, err)
	}
	return ceremony{Ceremony: c, discoverable: len(session.UserID) == 0}, &session, nil
}

// spendTicket spends a ticket's challenge at once, outside a sign-in;
// spent before, it answers used.
func (s *Service) spendTicket(ctx context.Context, c ceremony) error {
	err := s.cfg.Store.SpendChallenge(ctx, c.challengeHash, c.ExpiresAt)
	if sesame.ErrorCode(err) == sesame.EConflict {
		return errUsed
	}
	return err
}

// refuse spends a loaded ceremony whose finish failed, so that it is used
// once whatever the outcome (SECURITY rule 1), and answers as fail does.
// A ticket spent before — a replay — answers used.
func (s *Service) refuse(ctx context.Context, c ceremony, why string, err error) error {
	if c.challengeHash != nil {
		if serr := s.spendTicket(ctx, c); errors.Is(serr, errUsed) {
			s.fail(c, why+"; challenge used before", err)
			return errUsed
		} else if serr != nil {
			s.cfg.Logger.Warn("webauthn: failed ceremony not spent", "ceremony", c.Type, "err", serr)
		}
		return s.fail(c, why, err)
	}
	if _, cerr := s.cfg.Store.ConsumeCeremony(ctx, c.ID, s.cfg.Now()); cerr != nil && !errors.Is(cerr, sesame.ErrNotFound) {
		s.cfg.Logger.Warn("webauthn: failed ceremony not spent", "ceremony", c.Type, "err", cerr)
	}
	return s.fail(c, why, err)
}

// fail logs why a finish failed, without any secret: only the library's
// error type and summary, never its debug information, which can hold the
// challenge (SECURITY rule 39). The caller gets errFailed.
func (s *Service) fail(c ceremony, why string, err error) error {
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
