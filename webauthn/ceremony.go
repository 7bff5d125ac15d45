package webauthn

// Ceremony state: stored whole at begin, spent once at finish, and failures logged without secrets.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/go-webauthn/webauthn/protocol"
	gowebauthn "github.com/go-webauthn/webauthn/webauthn"

	"github.com/sesame-auth/sesame"
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

// consume spends ceremony id, whatever the finish's outcome will be, and
// returns it with its session data. A used ceremony answers used; an
// expired or unknown one (swept, or never issued) answers expired.
func (s *Service) consume(ctx context.Context, id string) (sesame.Ceremony, *gowebauthn.SessionData, error) {
	if id == "" || len(id) > MaxCeremonyIDLength {
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
	if id == "" || len(id) > MaxCeremonyIDLength {
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
