package server

// Approvals (OpenID CIBA, poll mode; API.md "Approvals"): the app's
// backchannel request, and the person's list, approval and denial. The
// CIBA grant itself goes through /oauth2/token (oauthToken).

import (
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/sesame-auth/sesame"
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
		out = append(out, approvalOf(r))
	}
	return c.JSON(out)
}

func approvalOf(r sesame.CIBARequest) approvalJSON {
	return approvalJSON{ID: r.ID, Client: oauthClientJSON{ID: r.ClientID, Name: r.ClientName},
		BindingMessage: r.BindingMessage, ExpiresAt: r.ExpiresAt}
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

// The emailed link (/approve#t=…): the page posts the token from the
// fragment. Showing the request changes nothing; approving needs a
// passkey assertion; either decision spends the link.

type linkRequest struct {
	Token string `json:"token"`
}

func parseLink(c *fiber.Ctx) (string, error) {
	var req linkRequest
	err := parseBody(c, &req)
	return req.Token, err
}

func (s *Server) approvalByLink(c *fiber.Ctx) error {
	token, err := parseLink(c)
	if err != nil {
		return err
	}
	r, err := s.cfg.OIDC.ApprovalByLink(c.UserContext(), token)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(approvalOf(r))
}

func (s *Server) approvalLinkBegin(c *fiber.Ctx) error {
	token, err := parseLink(c)
	if err != nil {
		return err
	}
	id, options, err := s.cfg.OIDC.BeginApprovalByLink(c.UserContext(), token)
	if err != nil {
		return err
	}
	return c.JSON(ceremonyJSON{CeremonyID: id, PublicKey: options})
}

func (s *Server) approvalLinkApprove(c *fiber.Ctx) error {
	var req struct {
		Token string `json:"token"`
		finishRequest
	}
	if err := parseBody(c, &req); err != nil {
		return err
	}
	if req.CeremonyID == "" || len(req.Credential) == 0 || req.Credential[0] != '{' {
		return sesame.Errorf(sesame.EBadRequest, "token, ceremony_id and credential (the object PublicKeyCredential.toJSON() returns) are required.")
	}
	if err := s.cfg.OIDC.ApproveByLink(c.UserContext(), req.Token, req.CeremonyID, req.Credential); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

func (s *Server) approvalLinkDeny(c *fiber.Ctx) error {
	token, err := parseLink(c)
	if err != nil {
		return err
	}
	if err := s.cfg.OIDC.DenyByLink(c.UserContext(), token); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}
