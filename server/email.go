package server

import (
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/magiclink"
)

func (s *Server) emailStart(c *fiber.Ctx) error {
	var req struct {
		Email string `json:"email"`
	}
	if err := parseBody(c, &req); err != nil {
		return err
	}
	started, err := s.cfg.Email.Start(c.UserContext(), req.Email)
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
	res, err := s.cfg.Email.VerifyCode(c.UserContext(), req.FlowID, req.Code)
	return s.finishEmail(c, res, err, "email_code")
}

func (s *Server) emailLink(c *fiber.Ctx) error {
	var req struct {
		Token string `json:"token"`
	}
	if err := parseBody(c, &req); err != nil {
		return err
	}
	res, err := s.cfg.Email.ConsumeLink(c.UserContext(), req.Token)
	return s.finishEmail(c, res, err, "email_link")
}

func (s *Server) finishEmail(c *fiber.Ctx, res magiclink.Result, err error, method string) error {
	if err != nil {
		s.metrics.signIn(method, sesame.ErrorCode(err))
		return err
	}
	return s.signIn(c, res.User, []string{"otp"}, method)
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
