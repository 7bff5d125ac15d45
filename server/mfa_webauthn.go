package server

import (
	"github.com/gofiber/fiber/v2"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/password"
	"github.com/sesame-auth/sesame/signin"
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
	if err != nil && p.JTI != "" {
		// A good token that can no longer be used (ended, or its account
		// disabled): a failed sign-in of its user.
		return s.finishSignIn(c, password.WithPasskey(p, signin.Proof{}), err)
	} else if err != nil {
		return err
	}
	req, err := parseFinish(c)
	if err != nil {
		return err
	}
	proof, err := s.cfg.WebAuthn.FinishMFA(c.UserContext(), u, req.CeremonyID, req.Credential)
	return s.finishSignIn(c, password.WithPasskey(p, proof), err)
}
