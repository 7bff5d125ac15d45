package server

import (
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/token"
)

const claimsKey = "sesame.claims"

// bearer returns the token of an "Authorization: Bearer" header, or "".
func bearer(c *fiber.Ctx) string {
	h := c.Get(fiber.HeaderAuthorization)
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

// requireAuth admits requests with a valid access token and keeps its
// claims for the handler. It is the one token check of every protected
// route; an MFA-pending token never passes it (SECURITY rule 28).
func (s *Server) requireAuth(c *fiber.Ctx) error {
	raw := bearer(c)
	if raw == "" {
		c.Set(fiber.HeaderWWWAuthenticate, `Bearer`)
		return sesame.Errorf(sesame.EUnauthorized, "Sign in first.")
	}
	claims, err := s.cfg.Issuer.VerifyAccess(c.UserContext(), raw)
	if err != nil {
		c.Set(fiber.HeaderWWWAuthenticate, `Bearer error="invalid_token"`)
		return err
	}
	c.Locals(claimsKey, claims)
	return c.Next()
}

// claimsOf returns the claims requireAuth stored.
func claimsOf(c *fiber.Ctx) token.AccessClaims {
	claims, _ := c.Locals(claimsKey).(token.AccessClaims)
	return claims
}

// requireLiveSession runs after requireAuth on every route that changes a
// factor, the email or the account, ends sessions, or approves an app: it
// admits only access tokens whose session is still live (SECURITY rule
// 52). An access token outlives the session it was issued for by up to
// its 10 minutes; this one indexed read (the session's primary key) closes
// that gap where it matters. Plain reads such as /api/me stay stateless.
func (s *Server) requireLiveSession(c *fiber.Ctx) error {
	claims := claimsOf(c)
	sess, err := s.cfg.Sessions.Get(c.UserContext(), claims.SessionID)
	if err == nil && sess.UserID != claims.Subject {
		err = sesame.Errorf(sesame.EUnauthorized, "Your session has ended. Sign in again.")
	}
	if err != nil {
		c.Set(fiber.HeaderWWWAuthenticate, `Bearer error="invalid_token"`)
		return err
	}
	return c.Next()
}

// ReauthWindow is how recent a sign-in must be to add or remove a factor
// (API.md: passkeys and passwords; NIST 63B-4 §4.1).
const ReauthWindow = 10 * time.Minute

// requireRecentAuth runs after requireAuth and admits only sessions whose
// auth_time is within ReauthWindow; others get 403 reauth_required.
func (s *Server) requireRecentAuth(c *fiber.Ctx) error {
	if s.cfg.Now().Sub(claimsOf(c).AuthTime) > ReauthWindow {
		return sesame.Errorf(sesame.EReauthRequired, "Confirm it is you: sign in again, then retry.")
	}
	return c.Next()
}
