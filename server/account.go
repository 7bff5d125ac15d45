package server

import (
	"github.com/gofiber/fiber/v2"

	"github.com/sesame-auth/sesame"
)

func userOf(u sesame.User) userJSON {
	return userJSON{ID: u.ID, Email: u.Email, Name: u.Name}
}

// addAccountFacts adds to /api/me what the account page shows about
// recovery codes and the authenticator app.
func (s *Server) addAccountFacts(c *fiber.Ctx, u sesame.User, body fiber.Map) error {
	left, err := s.cfg.Recovery.Left(c.UserContext(), u.ID)
	if err != nil {
		return err
	}
	hasTOTP, err := s.cfg.TOTP.Has(c.UserContext(), u.ID)
	if err != nil {
		return err
	}
	body["recovery_codes_left"], body["has_totp"] = left, hasTOTP
	return nil
}
