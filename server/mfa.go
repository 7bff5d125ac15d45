package server

import (
	"time"

	"github.com/sesame-auth/sesame/limit"

	"github.com/gofiber/fiber/v2"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/password"
)

// pendingMFA verifies the MFA-pending token a request carries in its JSON
// body. It is never a Bearer token: requireAuth refuses it everywhere else
// (SECURITY rule 28).
func (s *Server) pendingMFA(c *fiber.Ctx, raw string) (password.Pending, error) {
	if raw == "" {
		return password.Pending{}, sesame.Errorf(sesame.EUnauthorized, "mfa_token is required.")
	}
	claims, err := s.cfg.Issuer.VerifyMFA(c.UserContext(), raw)
	if err != nil {
		return password.Pending{}, err
	}
	return password.Pending{JTI: claims.JTI, UserID: claims.Subject, ExpiresAt: claims.ExpiresAt}, nil
}

// pendingMFACode reads the body of a second factor that is a typed code,
// {"mfa_token", "code"}, and checks its MFA-pending token.
func (s *Server) pendingMFACode(c *fiber.Ctx) (password.Pending, string, error) {
	var req struct {
		MFAToken string `json:"mfa_token"`
		Code     string `json:"code"`
	}
	if err := parseBody(c, &req); err != nil {
		return password.Pending{}, "", err
	}
	p, err := s.pendingMFA(c, req.MFAToken)
	return p, req.Code, err
}

// mfaEmailSend emails a second-factor code to the account whose password
// was just proved (SECURITY rule 19).
func (s *Server) mfaEmailSend(c *fiber.Ctx) error {
	var req struct {
		MFAToken string `json:"mfa_token"`
	}
	if err := parseBody(c, &req); err != nil {
		return err
	}
	p, err := s.pendingMFA(c, req.MFAToken)
	if err != nil {
		return err
	}
	u, err := s.cfg.Password.Check(c.UserContext(), p)
	if err != nil {
		return err
	}
	if err := s.limitAddress(c, u.Email, limit.CodesPerAccountHour, limit.CodesPerAddressCeiling); err != nil {
		return err
	}
	valid, err := s.cfg.Password.SendCode(c.UserContext(), p)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusAccepted).JSON(fiber.Map{"expires_in": int(valid / time.Second)})
}

// mfaEmailVerify completes a password sign-in with the emailed code: a new
// session whose amr says password, one-time code and so multiple factors
// (RFC 8176; SECURITY rule 29).
func (s *Server) mfaEmailVerify(c *fiber.Ctx) error {
	p, code, err := s.pendingMFACode(c)
	if err != nil {
		return err
	}
	proof, err := s.cfg.Password.VerifyCode(c.UserContext(), p, code)
	return s.finishSignIn(c, proof, err)
}
