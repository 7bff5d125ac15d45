package server

import (
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/audit"
	"github.com/sesame-auth/sesame/limit"
)

// renameMe sets the display name: PATCH /api/me {"name"}.
func (s *Server) renameMe(c *fiber.Ctx) error {
	var req struct {
		Name *string `json:"name"`
	}
	if err := parseBody(c, &req); err != nil {
		return err
	}
	if req.Name == nil {
		return sesame.Errorf(sesame.EBadRequest, "Send the new name as {\"name\": \"...\"}.")
	}
	u, err := s.cfg.Account.Rename(c.UserContext(), claimsOf(c).Subject, *req.Name)
	if err != nil {
		return err
	}
	s.record(c, sesame.AuditEvent{Event: audit.NameChanged, Result: "success", UserID: u.ID})
	return c.JSON(fiber.Map{"user": userOf(u)})
}

// emailChangeStart sends a code to the address the user wants to move to.
// Behind requireRecentAuth; at most EmailChangePerUser an hour.
func (s *Server) emailChangeStart(c *fiber.Ctx) error {
	var req struct {
		Email string `json:"email"`
	}
	if err := parseBody(c, &req); err != nil {
		return err
	}
	ctx, userID := c.UserContext(), claimsOf(c).Subject
	if _, err := sesame.NormalizeEmail(req.Email); err != nil {
		return err // refused before it counts against the limit
	}
	if err := s.cfg.Limits.Allow(ctx, limit.EmailChangePerUser, userID); err != nil {
		return err
	}
	u, err := s.cfg.Users.UserByID(ctx, userID)
	if err != nil {
		return err
	}
	flowID, err := s.cfg.Account.StartEmailChange(ctx, u, req.Email)
	if err != nil {
		return err
	}
	s.record(c, sesame.AuditEvent{Event: audit.EmailChangeStarted, Result: "success", UserID: userID})
	return c.JSON(fiber.Map{"flow_id": flowID, "expires_in": int(s.cfg.Account.CodeTTL().Seconds())})
}

// emailChangeVerify moves the account to the new address once its code
// is right; the old address is told. Sessions stay.
func (s *Server) emailChangeVerify(c *fiber.Ctx) error {
	var req struct {
		FlowID string `json:"flow_id"`
		Code   string `json:"code"`
	}
	if err := parseBody(c, &req); err != nil {
		return err
	}
	userID := claimsOf(c).Subject
	_, u, err := s.cfg.Account.VerifyEmailChange(c.UserContext(), userID, req.FlowID, req.Code, client(c))
	if err != nil {
		return err
	}
	s.record(c, sesame.AuditEvent{Event: audit.EmailChanged, Result: "success", UserID: userID})
	return c.JSON(fiber.Map{"user": userOf(u)})
}

// deleteMe deletes the account and everything that signs it in. Behind
// requireRecentAuth; the audit rows stay under the user id alone.
func (s *Server) deleteMe(c *fiber.Ctx) error {
	userID := claimsOf(c).Subject
	if _, err := s.cfg.Account.Delete(c.UserContext(), userID, client(c)); err != nil {
		return err
	}
	s.record(c, sesame.AuditEvent{Event: audit.AccountDeleted, Result: "success", UserID: userID})
	s.setRefreshCookie(c, "", time.Time{})
	return c.SendStatus(fiber.StatusNoContent)
}
