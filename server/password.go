package server

import (
	"encoding/base64"
	"time"

	"github.com/sesame-auth/sesame/audit"

	"github.com/gofiber/fiber/v2"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/password"
	"github.com/sesame-auth/sesame/signin"
)

// passwordLoginBegin answers a SCRAM client-first message with the
// server-first one (API.md "Password by challenge-response").
func (s *Server) passwordLoginBegin(c *fiber.Ctx) error {
	var req struct {
		ClientFirst string `json:"client_first"`
	}
	if err := parseBody(c, &req); err != nil {
		return err
	}
	ch, err := s.cfg.Password.Begin(c.UserContext(), req.ClientFirst)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{
		"login_id":     ch.LoginID,
		"server_first": ch.ServerFirst,
		"expires_in":   int(ch.ExpiresIn / time.Second),
	})
}

// passwordLoginFinish checks the client-final message. A password alone
// never yields a session: it yields an MFA-pending token that only the
// /api/mfa endpoints accept (SECURITY rule 28).
func (s *Server) passwordLoginFinish(c *fiber.Ctx) error {
	var req struct {
		LoginID     string `json:"login_id"`
		ClientFinal string `json:"client_final"`
	}
	if err := parseBody(c, &req); err != nil {
		return err
	}
	ctx := c.UserContext()
	login, err := s.cfg.Password.Finish(ctx, req.LoginID, req.ClientFinal)
	proof := signin.Proof{Method: signin.MethodPassword, User: login.User, Client: client(c)}
	if err != nil {
		s.cfg.SignIn.Fail(ctx, proof, err)
		return err
	}
	mfaToken, _, expiresIn, err := s.cfg.Issuer.MFA(ctx, login.User.ID)
	if err != nil {
		return err
	}
	s.cfg.SignIn.FirstFactor(ctx, proof)
	return c.JSON(fiber.Map{
		"server_final": login.ServerFinal,
		"mfa_token":    mfaToken,
		"mfa_methods":  login.Methods,
		"expires_in":   int(expiresIn / time.Second),
	})
}

// passwordSetBegin gives the browser a fresh salt and the iteration count
// to derive a new password's keys with. Behind requireAuth and
// requireRecentAuth.
func (s *Server) passwordSetBegin(c *fiber.Ctx) error {
	ch, err := s.cfg.Password.SetBegin(c.UserContext(), claimsOf(c).Subject)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{
		"set_id":     ch.SetID,
		"salt":       base64.StdEncoding.EncodeToString(ch.Salt),
		"iterations": ch.Iterations,
		"expires_in": int(ch.ExpiresIn / time.Second),
	})
}

// passwordSetFinish stores the StoredKey and ServerKey the browser derived.
// Replacing a password ends the user's other sessions (SECURITY rule 32).
func (s *Server) passwordSetFinish(c *fiber.Ctx) error {
	var req struct {
		SetID      string `json:"set_id"`
		StoredKey  string `json:"stored_key"`
		ServerKey  string `json:"server_key"`
		Iterations int    `json:"iterations"`
	}
	if err := parseBody(c, &req); err != nil {
		return err
	}
	storedKey, err1 := base64.StdEncoding.Strict().DecodeString(req.StoredKey)
	serverKey, err2 := base64.StdEncoding.Strict().DecodeString(req.ServerKey)
	if err1 != nil || err2 != nil {
		return sesame.Errorf(sesame.EBadRequest, "stored_key and server_key are standard base64.")
	}
	claims := claimsOf(c)
	replaced, err := s.cfg.Password.SetFinish(c.UserContext(), claims.Subject, password.SetKeys{
		SetID: req.SetID, Iterations: req.Iterations, StoredKey: storedKey, ServerKey: serverKey,
	}, client(c))
	if err != nil {
		return err
	}
	s.record(c, sesame.AuditEvent{Event: audit.PasswordSet, Result: "success", UserID: claims.Subject})
	if replaced {
		if err := s.endOtherSessions(c); err != nil {
			return err
		}
	}
	return c.SendStatus(fiber.StatusNoContent)
}

// passwordRemove deletes the password and ends the user's other sessions
// (SECURITY rule 32). Removing a password that is not there is not an
// error.
func (s *Server) passwordRemove(c *fiber.Ctx) error {
	removed, err := s.cfg.Password.Remove(c.UserContext(), claimsOf(c).Subject, client(c))
	if err != nil {
		return err
	}
	if removed {
		s.record(c, sesame.AuditEvent{Event: audit.PasswordRemoved, Result: "success", UserID: claimsOf(c).Subject})
		if err := s.endOtherSessions(c); err != nil {
			return err
		}
	}
	return c.SendStatus(fiber.StatusNoContent)
}

// endOtherSessions revokes every live session of the signed-in user but
// the one making the request.
func (s *Server) endOtherSessions(c *fiber.Ctx) error {
	claims := claimsOf(c)
	_, err := s.cfg.Sessions.EndOthers(c.UserContext(), claims.Subject, claims.SessionID)
	return err
}
