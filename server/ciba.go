package server

// Approvals (OpenID CIBA, poll mode; API.md "Approvals"): the app's
// backchannel request, and the person's list, approval and denial. The
// CIBA grant itself goes through /oauth2/token (oauthToken).

import (
	"time"

	"github.com/gofiber/fiber/v2"
)

func (s *Server) backchannelAuthorize(c *fiber.Ctx) error {
	form, auth, err := protocolForm(c)
	if err != nil {
		return oauthError(c, err)
	}
	res, err := s.cfg.OIDC.BackchannelAuthorize(c.UserContext(), form, auth)
	if err != nil {
		return oauthError(c, err)
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(res)
}

type approvalJSON struct {
	ID             string          `json:"id"`
	Client         oauthClientJSON `json:"client"`
	BindingMessage string          `json:"binding_message"`
	ExpiresAt      time.Time       `json:"expires_at"`
}

// approvals lists the person's pending approvals, each with the app's
// name and the message exactly as the app sent it.
func (s *Server) approvals(c *fiber.Ctx) error {
	list, err := s.cfg.OIDC.Approvals(c.UserContext(), claimsOf(c).Subject)
	if err != nil {
		return err
	}
	out := make([]approvalJSON, 0, len(list))
	for _, r := range list {
		out = append(out, approvalJSON{ID: r.ID, Client: oauthClientJSON{ID: r.ClientID, Name: r.ClientName},
			BindingMessage: r.BindingMessage, ExpiresAt: r.ExpiresAt})
	}
	return c.JSON(out)
}

func (s *Server) approvalBegin(c *fiber.Ctx) error {
	id, options, err := s.cfg.OIDC.BeginApproval(c.UserContext(), claimsOf(c).Subject, c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(ceremonyJSON{CeremonyID: id, PublicKey: options})
}

func (s *Server) approvalApprove(c *fiber.Ctx) error {
	req, err := parseFinish(c)
	if err != nil {
		return err
	}
	if err := s.cfg.OIDC.Approve(c.UserContext(), claimsOf(c).Subject, c.Params("id"), req.CeremonyID, req.Credential); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

func (s *Server) approvalDeny(c *fiber.Ctx) error {
	if err := s.cfg.OIDC.DenyApproval(c.UserContext(), claimsOf(c).Subject, c.Params("id")); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}
