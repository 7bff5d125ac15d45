package server

import (
	"context"

	"github.com/gofiber/fiber/v2"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/audit"
	"github.com/sesame-auth/sesame/mail"
	"github.com/sesame-auth/sesame/recovery"
	"github.com/sesame-auth/sesame/signin"
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
	p, code, err := s.pendingMFACode(c)
	if err != nil {
		return err
	}
	if err := recovery.CheckFormat(code); err != nil {
		return err // a typo costs no attempt
	}
	proof, err := s.cfg.Password.CompleteWith(c.UserContext(), p, signin.MethodPasswordRecovery, func(ctx context.Context, u sesame.User) error {
		return s.cfg.Recovery.Use(ctx, u.ID, code)
	})
	return s.finishRecovery(c, proof, err)
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
	proof, err := s.cfg.Recovery.SignIn(c.UserContext(), req.Email, req.Code)
	return s.finishRecovery(c, proof, err)
}

// finishRecovery completes a sign-in by recovery code; once a code is
// spent the use is audited and the user told, session or not.
func (s *Server) finishRecovery(c *fiber.Ctx, proof signin.Proof, err error) error {
	if err == nil {
		s.record(c, sesame.AuditEvent{Event: audit.RecoveryCodeUsed, Result: "success", UserID: proof.User.ID})
		s.notifyUser(c, proof.User, mail.NoticeRecoveryCodeUsed)
	}
	return s.finishSignIn(c, proof, err)
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
