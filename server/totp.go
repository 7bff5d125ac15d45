package server

import (
	"context"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/audit"
	"github.com/sesame-auth/sesame/mail"
	"github.com/sesame-auth/sesame/signin"
	"github.com/sesame-auth/sesame/totp"
)

// totpBegin starts setting up an authenticator app: the secret as text and
// as a QR code, shown this once. Behind requireRecentAuth.
func (s *Server) totpBegin(c *fiber.Ctx) error {
	u, err := s.cfg.Users.UserByID(c.UserContext(), claimsOf(c).Subject)
	if err != nil {
		return err
	}
	en, err := s.cfg.TOTP.Begin(c.UserContext(), u)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{
		"enrollment_id": en.ID,
		"secret":        en.Secret,
		"otpauth_uri":   en.URI,
		"qr_svg":        en.QRSVG,
		"expires_in":    int(en.ExpiresIn / time.Second),
	})
}

// totpFinish confirms the app with its first code. Replacing an earlier
// app ends the user's other sessions, like any replaced factor (SECURITY
// rule 32).
func (s *Server) totpFinish(c *fiber.Ctx) error {
	var req struct {
		EnrollmentID string `json:"enrollment_id"`
		Code         string `json:"code"`
	}
	if err := parseBody(c, &req); err != nil {
		return err
	}
	userID := claimsOf(c).Subject
	replaced, err := s.cfg.TOTP.Finish(c.UserContext(), userID, req.EnrollmentID, req.Code)
	if err != nil {
		return err
	}
	s.record(c, sesame.AuditEvent{Event: audit.TOTPAdded, Result: "success", UserID: userID})
	s.notify(c, userID, mail.NoticeTOTPAdded)
	if replaced {
		if err := s.endOtherSessions(c); err != nil {
			return err
		}
	}
	return c.SendStatus(fiber.StatusNoContent)
}

// totpRemove deletes the authenticator app and ends the user's other
// sessions (SECURITY rule 32). Removing none is not an error.
func (s *Server) totpRemove(c *fiber.Ctx) error {
	userID := claimsOf(c).Subject
	removed, err := s.cfg.TOTP.Remove(c.UserContext(), userID)
	if err != nil {
		return err
	}
	if removed {
		s.record(c, sesame.AuditEvent{Event: audit.TOTPRemoved, Result: "success", UserID: userID})
		s.notify(c, userID, mail.NoticeTOTPRemoved)
		if err := s.endOtherSessions(c); err != nil {
			return err
		}
	}
	return c.SendStatus(fiber.StatusNoContent)
}

// mfaTOTP completes a password sign-in with a code from the user's
// authenticator app: amr pwd, otp, mfa (SECURITY rule 29).
func (s *Server) mfaTOTP(c *fiber.Ctx) error {
	p, code, err := s.pendingMFACode(c)
	if err != nil {
		return err
	}
	if err := totp.CheckFormat(code); err != nil {
		return err // a typo costs no attempt
	}
	proof, err := s.cfg.Password.CompleteWith(c.UserContext(), p, signin.MethodPasswordTOTP, func(ctx context.Context, u sesame.User) error {
		return s.cfg.TOTP.Verify(ctx, u.ID, code)
	})
	return s.finishSignIn(c, proof, err)
}
