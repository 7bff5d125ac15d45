package server

import (
	"context"

	"github.com/gofiber/fiber/v2"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/audit"
	"github.com/sesame-auth/sesame/mail"
)

// recoveryCodesCreate makes a new set of recovery codes, shown this once;
// every earlier code stops working. Behind requireRecentAuth.
func (s *Server) recoveryCodesCreate(c *fiber.Ctx) error {
	userID := claimsOf(c).Subject
	codes, err := s.cfg.Recovery.Generate(c.UserContext(), userID)
	if err != nil {
		return err
	}
	s.record(c, sesame.AuditEvent{Event: audit.RecoveryCodesCreated, Result: "success", UserID: userID})
	s.notify(c, userID, mail.NoticeRecoveryCodesCreated)
	return c.JSON(fiber.Map{"codes": codes})
}

// mfaRecovery completes a password sign-in with a recovery code.
func (s *Server) mfaRecovery(c *fiber.Ctx) error {
	var req struct {
		MFAToken string `json:"mfa_token"`
		Code     string `json:"code"`
	}
	if err := parseBody(c, &req); err != nil {
		return err
	}
	p, err := s.pendingMFA(c, req.MFAToken)
	if err != nil {
		return err
	}
	u, err := s.cfg.Password.CompleteWith(c.UserContext(), p, func(ctx context.Context, u sesame.User) error {
		return s.cfg.Recovery.Use(ctx, u.ID, req.Code)
	})
	if err != nil {
		s.metrics.signIn("password_recovery_code", sesame.ErrorCode(err))
		s.record(c, sesame.AuditEvent{Event: audit.SignIn, Result: sesame.ErrorCode(err), Method: "password_recovery_code", UserID: p.UserID})
		return err
	}
	s.recoveryCodeUsed(c, u)
	return s.signIn(c, u, []string{"pwd", "otp", "mfa"}, "password_recovery_code")
}

// recoverySignIn signs in by address and recovery code, for a person who
// lost both passkey and mailbox. Unknown addresses get the same answer
// after the same work (SECURITY rule 35).
func (s *Server) recoverySignIn(c *fiber.Ctx) error {
	var req struct {
		Email string `json:"email"`
		Code  string `json:"code"`
	}
	if err := parseBody(c, &req); err != nil {
		return err
	}
	u, err := s.cfg.Recovery.SignIn(c.UserContext(), req.Email, req.Code)
	if err != nil {
		s.metrics.signIn("recovery_code", sesame.ErrorCode(err))
		s.record(c, sesame.AuditEvent{Event: audit.SignIn, Result: sesame.ErrorCode(err), Method: "recovery_code", UserID: u.ID})
		return err
	}
	s.recoveryCodeUsed(c, u)
	return s.signIn(c, u, []string{"otp"}, "recovery_code")
}

// recoveryCodeUsed audits a spent recovery code and tells the user.
func (s *Server) recoveryCodeUsed(c *fiber.Ctx, u sesame.User) {
	s.record(c, sesame.AuditEvent{Event: audit.RecoveryCodeUsed, Result: "success", UserID: u.ID})
	s.notifyUser(c, u, mail.NoticeRecoveryCodeUsed)
}

// notify tells userID about a change to their account; a user that cannot
// be read is not told, and the change stands.
func (s *Server) notify(c *fiber.Ctx, userID string, kind mail.NoticeKind) {
	if u, err := s.cfg.Users.UserByID(c.UserContext(), userID); err == nil {
		s.notifyUser(c, u, kind)
	}
}

func (s *Server) notifyUser(c *fiber.Ctx, u sesame.User, kind mail.NoticeKind) {
	cl := client(c)
	s.cfg.Notices.Enqueue(mail.Notice(u.Email, kind, mail.NoticeData{
		Device: cl.UserAgent, IP: cl.IP, Time: s.cfg.Now(), AccountURL: s.cfg.PublicURL + "/account",
	}))
}
