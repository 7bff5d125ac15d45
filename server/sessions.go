package server

import (
	"encoding/base64"
	"errors"
	"time"

	"github.com/sesame-auth/sesame/audit"
	"github.com/sesame-auth/sesame/mail"
	"github.com/sesame-auth/sesame/signin"

	"github.com/gofiber/fiber/v2"

	"github.com/sesame-auth/sesame"
)

// refreshCookie carries the refresh token. JavaScript never sees it.
const refreshCookie = "sesame_refresh"

type userJSON struct {
	ID    string `json:"id"`
	Email string `json:"email"`
	Name  string `json:"name,omitempty"`
}

type sessionResponse struct {
	AccessToken string   `json:"access_token"`
	TokenType   string   `json:"token_type"`
	ExpiresIn   int      `json:"expires_in"`
	User        userJSON `json:"user"`
	AMR         []string `json:"amr"`
}

// finishSignIn answers every way in: what it proved (or why it failed,
// with err) goes to package signin, which records a failure or makes the
// session; the answer is the session body and the refresh cookie.
func (s *Server) finishSignIn(c *fiber.Ctx, proof signin.Proof, err error) error {
	proof.Client = client(c)
	if err != nil {
		s.cfg.SignIn.Fail(c.UserContext(), proof, err)
		return err
	}
	res, err := s.cfg.SignIn.Complete(c.UserContext(), proof)
	if err != nil {
		return err
	}
	return s.sendSession(c, res.User, res.Session, res.Refresh)
}

func (s *Server) sendSession(c *fiber.Ctx, u sesame.User, sess sesame.Session, refresh string) error {
	access, claims, err := s.cfg.Issuer.Access(c.UserContext(), u.ID, sess.ID, sess.AuthTime, sess.AMR)
	if err != nil {
		return err
	}
	s.setRefreshCookie(c, refresh, sess.ExpiresAt)
	return c.JSON(sessionResponse{
		AccessToken: access,
		TokenType:   "Bearer",
		ExpiresIn:   int(claims.ExpiresAt.Sub(claims.IssuedAt) / time.Second),
		User:        userOf(u),
		AMR:         sess.AMR,
	})
}

func (s *Server) setRefreshCookie(c *fiber.Ctx, value string, expires time.Time) {
	ck := &fiber.Cookie{
		Name:     refreshCookie,
		Value:    value,
		Path:     "/api/session",
		HTTPOnly: true,
		Secure:   s.secure,
		SameSite: fiber.CookieSameSiteStrictMode,
	}
	if value == "" {
		ck.Expires = time.Unix(0, 0)
		ck.MaxAge = -1
	} else {
		ck.Expires = expires
	}
	c.Cookie(ck)
}

// refresh rotates the refresh cookie and answers a new session body.
func (s *Server) refresh(c *fiber.Ctx) error {
	ctx := c.UserContext()
	r, err := s.cfg.Sessions.Refresh(ctx, c.Cookies(refreshCookie))
	if err != nil {
		s.setRefreshCookie(c, "", time.Time{})
		if errors.Is(err, sesame.ErrRefreshReused) {
			s.refreshReused(c, r.Session)
		}
		return err
	}
	if !r.User.Active() {
		return sesame.ErrAccountDisabled
	}
	return s.sendSession(c, r.User, r.Session, r.Token)
}

// refreshReused reports a replayed refresh token: its family is already
// revoked; the user is told, since it may mean the token was stolen.
func (s *Server) refreshReused(c *fiber.Ctx, sess sesame.Session) {
	s.cfg.Logger.Warn("refresh token reused: session family revoked", "session", sess.ID, "user", sess.UserID, "ip", c.IP())
	s.record(c, sesame.AuditEvent{Event: audit.RefreshReused, Result: sesame.EUnauthorized, UserID: sess.UserID, Detail: "session " + sess.ID})
	if first, err := s.cfg.Sessions.FirstReuseNotice(c.UserContext(), sess.ID); err != nil || !first {
		return // told already (or cannot tell): one notice per family
	}
	if u, err := s.cfg.Users.UserByID(c.UserContext(), sess.UserID); err == nil {
		s.cfg.Notices.Enqueue(mail.Notice(u.Email, mail.NoticeRefreshTokenReused, mail.NoticeData{
			Device: sess.UserAgent, IP: c.IP(), Time: s.cfg.Now(), AccountURL: s.cfg.PublicURL + "/account",
		}))
	}
}

// logout ends the Bearer token's session if one is sent, else the
// cookie's. Logging out twice is not an error.
func (s *Server) logout(c *fiber.Ctx) error {
	ctx := c.UserContext()
	if raw := bearer(c); raw != "" {
		claims, err := s.cfg.Issuer.VerifyAccess(ctx, raw)
		if err != nil {
			return err
		}
		if err := s.cfg.Sessions.End(ctx, claims.Subject, claims.SessionID); err != nil {
			return err
		}
	} else if err := s.cfg.Sessions.EndByRefresh(ctx, c.Cookies(refreshCookie)); err != nil {
		return err
	}
	s.setRefreshCookie(c, "", time.Time{})
	return c.SendStatus(fiber.StatusNoContent)
}

func (s *Server) logoutAll(c *fiber.Ctx) error {
	if _, err := s.cfg.Sessions.EndAll(c.UserContext(), claimsOf(c).Subject); err != nil {
		return err
	}
	s.record(c, sesame.AuditEvent{Event: audit.AllSessionsEnd, Result: "success", UserID: claimsOf(c).Subject})
	s.setRefreshCookie(c, "", time.Time{})
	return c.SendStatus(fiber.StatusNoContent)
}

type sessionJSON struct {
	ID         string    `json:"id"`
	CreatedAt  time.Time `json:"created_at"`
	LastUsedAt time.Time `json:"last_used_at"`
	UserAgent  string    `json:"user_agent"`
	IP         string    `json:"ip"`
	AMR        []string  `json:"amr"`
	Current    bool      `json:"current"`
}

func (s *Server) sessionsOf(c *fiber.Ctx) ([]sessionJSON, error) {
	claims := claimsOf(c)
	list, err := s.cfg.Sessions.List(c.UserContext(), claims.Subject)
	if err != nil {
		return nil, err
	}
	out := make([]sessionJSON, 0, len(list))
	for _, sess := range list {
		out = append(out, sessionJSON{
			ID: sess.ID, CreatedAt: sess.CreatedAt, LastUsedAt: sess.LastUsedAt,
			UserAgent: sess.UserAgent, IP: sess.IP, AMR: sess.AMR, Current: sess.ID == claims.SessionID,
		})
	}
	return out, nil
}

func (s *Server) mySessions(c *fiber.Ctx) error {
	list, err := s.sessionsOf(c)
	if err != nil {
		return err
	}
	return c.JSON(list)
}

func (s *Server) endMySession(c *fiber.Ctx) error {
	if err := s.cfg.Sessions.End(c.UserContext(), claimsOf(c).Subject, c.Params("id")); err != nil {
		return err
	}
	s.record(c, sesame.AuditEvent{Event: audit.SessionEnded, Result: "success", UserID: claimsOf(c).Subject, Detail: "session " + c.Params("id")})
	return c.SendStatus(fiber.StatusNoContent)
}

// meJSON is /api/me's answer, its fields in the order encoding/json
// gave the map it was before.
type meJSON struct {
	Credentials       []credentialJSON `json:"credentials"`
	HasPassword       bool             `json:"has_password"`
	HasTOTP           bool             `json:"has_totp"`
	RecoveryCodesLeft int              `json:"recovery_codes_left"`
	Sessions          []sessionJSON    `json:"sessions"`
	User              userJSON         `json:"user"`
	// WebAuthnUserID is the WebAuthn user handle, for the page's WebAuthn
	// L3 signals (signalAllAcceptedCredentials, signalCurrentUserDetails).
	WebAuthnUserID string `json:"webauthn_user_id"`
}

// me answers /api/me in three reads: the account with its password,
// authenticator-app and recovery-code facts (one query), the passkeys, and
// the live sessions.
func (s *Server) me(c *fiber.Ctx) error {
	claims := claimsOf(c)
	facts, err := s.cfg.Users.AccountFacts(c.UserContext(), claims.Subject)
	if errors.Is(err, sesame.ErrNotFound) {
		return sesame.Errorf(sesame.EUnauthorized, "Sign in first.")
	} else if err != nil {
		return err
	}
	sessions, err := s.sessionsOf(c)
	if err != nil {
		return err
	}
	credentials, err := s.credentialsOf(c)
	if err != nil {
		return err
	}
	return c.JSON(meJSON{
		Credentials:       credentials,
		HasPassword:       facts.HasPassword,
		HasTOTP:           facts.HasTOTP,
		RecoveryCodesLeft: facts.RecoveryCodesLeft,
		Sessions:          sessions,
		User:              userOf(facts.User),
		WebAuthnUserID:    base64.RawURLEncoding.EncodeToString(facts.User.WebAuthnHandle),
	})
}
