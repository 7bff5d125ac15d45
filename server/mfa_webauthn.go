package server

import (
	"github.com/gofiber/fiber/v2"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/audit"
	"github.com/sesame-auth/sesame/password"
)

// mfaUser verifies the MFA-pending token in the body and returns the user
// whose password was proved, while the token may still be used.
func (s *Server) mfaUser(c *fiber.Ctx) (sesame.User, password.Pending, error) {
	var req struct {
		MFAToken string `json:"mfa_token"`
	}
	if err := parseBody(c, &req); err != nil {
		return sesame.User{}, password.Pending{}, err
	}
	p, err := s.pendingMFA(c, req.MFAToken)
	if err != nil {
		return sesame.User{}, p, err
	}
	u, err := s.cfg.Password.Check(c.UserContext(), p)
	return u, p, err
}

// mfaWebAuthnBegin starts a passkey check as the second factor after a
// password, listing the user's own credentials.
func (s *Server) mfaWebAuthnBegin(c *fiber.Ctx) error {
	u, _, err := s.mfaUser(c)
	if err != nil {
		return err
	}
	id, options, err := s.cfg.WebAuthn.BeginMFA(c.UserContext(), u)
	if err != nil {
		return err
	}
	return c.JSON(ceremonyJSON{CeremonyID: id, PublicKey: options})
}

// mfaWebAuthnFinish completes a password sign-in with a passkey: the token
// is spent by one conditional write, then a session whose amr says
// password, the kind of passkey, and multiple factors (SECURITY rule 29).
func (s *Server) mfaWebAuthnFinish(c *fiber.Ctx) error {
	u, p, err := s.mfaUser(c)
	if err != nil {
		return err
	}
	req, err := parseFinish(c)
	if err != nil {
		return err
	}
	ctx := c.UserContext()
	_, amr, err := s.cfg.WebAuthn.FinishMFA(ctx, u, req.CeremonyID, req.Credential)
	if err == nil {
		err = s.cfg.Password.Spend(ctx, p)
	}
	if err != nil {
		s.metrics.signIn("password_passkey", sesame.ErrorCode(err))
		s.record(c, sesame.AuditEvent{Event: audit.SignIn, Result: sesame.ErrorCode(err), Method: "password_passkey", UserID: u.ID})
		return err
	}
	return s.signIn(c, u, append(append([]string{"pwd"}, amr...), "mfa"), "password_passkey")
}
