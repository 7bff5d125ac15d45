package server

import (
	"time"

	"github.com/sesame-auth/sesame/limit"

	"github.com/gofiber/fiber/v2"

	"github.com/sesame-auth/sesame"
)

func (s *Server) emailStart(c *fiber.Ctx) error {
	var req struct {
		Email string `json:"email"`
		// Locale is the page's language ("en", "ja"): the mail is written
		// in it.
		Locale string `json:"locale"`
	}
	if err := parseBody(c, &req); err != nil {
		return err
	}
	email, err := sesame.NormalizeEmail(req.Email)
	if err != nil {
		return err
	}
	// Limits per address hold whether or not it has an account, so a 429
	// tells nothing about it either. They count per (address, IP) under
	// per-address ceilings, and a new flow ends only older flows asked for
	// from the same IP: another IP cannot keep the owner from signing in
	// (SECURITY rule 56).
	if err := s.limitAddress(c, email, limit.EmailStartPerAddress15m, limit.EmailStartPerAddressDay,
		limit.CodesPerAccountHour, limit.CodesPerAddressCeiling, limit.EmailStartPerAddressCeiling); err != nil {
		return err
	}
	started, err := s.cfg.Email.StartIn(c.UserContext(), email, c.IP(), req.Locale)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusAccepted).JSON(fiber.Map{
		"flow_id":    started.FlowID,
		"expires_in": int(started.ExpiresIn / time.Second),
	})
}

func (s *Server) emailVerify(c *fiber.Ctx) error {
	var req struct {
		FlowID string `json:"flow_id"`
		Code   string `json:"code"`
	}
	if err := parseBody(c, &req); err != nil {
		return err
	}
	if req.FlowID == "" {
		return sesame.Errorf(sesame.EBadRequest, "flow_id is required.")
	}
	proof, err := s.cfg.Email.VerifyCode(c.UserContext(), req.FlowID, req.Code)
	return s.finishSignIn(c, proof, err)
}

func (s *Server) emailLink(c *fiber.Ctx) error {
	var req struct {
		Token string `json:"token"`
	}
	if err := parseBody(c, &req); err != nil {
		return err
	}
	proof, err := s.cfg.Email.ConsumeLink(c.UserContext(), req.Token)
	return s.finishSignIn(c, proof, err)
}

// emailLinkInfo lets the confirm page show whose sign-in a link is for
// without spending it (SECURITY rule 16).
func (s *Server) emailLinkInfo(c *fiber.Ctx) error {
	var req struct {
		Token string `json:"token"`
	}
	if err := parseBody(c, &req); err != nil {
		return err
	}
	masked, expiresIn, err := s.cfg.Email.LinkInfo(c.UserContext(), req.Token)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"email": masked, "expires_in": int(expiresIn / time.Second)})
}
