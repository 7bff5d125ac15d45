package server

import (
	"encoding/json"
	"errors"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/audit"
	"github.com/sesame-auth/sesame/webauthn"
)

// credentialJSON is a passkey as the API shows it (API.md "Passkeys and
// security keys"): never its public key or counter.
type credentialJSON struct {
	ID             string     `json:"id"`
	Name           string     `json:"name"`
	CreatedAt      time.Time  `json:"created_at"`
	LastUsedAt     *time.Time `json:"last_used_at"`
	AAGUID         string     `json:"aaguid"`
	Transports     []string   `json:"transports"`
	BackupEligible bool       `json:"backup_eligible"`
	BackedUp       bool       `json:"backed_up"`
	// Discoverable is credProps.rk from registration; null when unknown.
	Discoverable *bool `json:"discoverable"`
}

func toCredentialJSON(c sesame.Credential) credentialJSON {
	transports := c.Transports
	if transports == nil {
		transports = []string{}
	}
	return credentialJSON{
		ID:             webauthn.CredentialID(c.ID),
		Name:           c.Name,
		CreatedAt:      c.CreatedAt,
		LastUsedAt:     c.LastUsedAt,
		AAGUID:         webauthn.AAGUIDString(c.AAGUID),
		Transports:     transports,
		BackupEligible: c.BackupEligible,
		BackedUp:       c.BackupState,
		Discoverable:   c.Discoverable,
	}
}

// ceremonyJSON answers every begin: the ceremony id and the W3C JSON
// options for navigator.credentials.create or .get.
type ceremonyJSON struct {
	CeremonyID string          `json:"ceremony_id"`
	PublicKey  json.RawMessage `json:"publicKey"`
}

// finishRequest is the body of every finish: credential is what
// PublicKeyCredential.toJSON() produced.
type finishRequest struct {
	CeremonyID string          `json:"ceremony_id"`
	Credential json.RawMessage `json:"credential"`
	Name       string          `json:"name"`
}

func parseFinish(c *fiber.Ctx) (finishRequest, error) {
	var req finishRequest
	if err := parseBody(c, &req); err != nil {
		return req, err
	}
	if req.CeremonyID == "" {
		return req, sesame.Errorf(sesame.EBadRequest, "ceremony_id is required.")
	}
	if len(req.Credential) == 0 || req.Credential[0] != '{' {
		return req, sesame.Errorf(sesame.EBadRequest, "credential must be the object PublicKeyCredential.toJSON() returns.")
	}
	return req, nil
}

// currentUser loads the signed-in user of a requireAuth route.
func (s *Server) currentUser(c *fiber.Ctx) (sesame.User, error) {
	u, err := s.cfg.Users.UserByID(c.UserContext(), claimsOf(c).Subject)
	if errors.Is(err, sesame.ErrNotFound) {
		return u, sesame.Errorf(sesame.EUnauthorized, "Sign in first.")
	} else if err != nil {
		return u, err
	}
	if !u.Active() {
		return u, sesame.ErrAccountDisabled
	}
	return u, nil
}

// webauthnRegisterBegin runs behind requireAuth and requireRecentAuth:
// adding a passkey needs a full session from the last 10 minutes
// (SECURITY rule 9).
func (s *Server) webauthnRegisterBegin(c *fiber.Ctx) error {
	var req struct {
		Authenticator *string `json:"authenticator"`
	}
	if err := parseBody(c, &req); err != nil {
		return err
	}
	u, err := s.currentUser(c)
	if err != nil {
		return err
	}
	kind := ""
	if req.Authenticator != nil {
		kind = *req.Authenticator
	}
	id, options, err := s.cfg.WebAuthn.BeginRegistration(c.UserContext(), u, kind)
	if err != nil {
		return err
	}
	return c.JSON(ceremonyJSON{CeremonyID: id, PublicKey: options})
}

func (s *Server) webauthnRegisterFinish(c *fiber.Ctx) error {
	req, err := parseFinish(c)
	if err != nil {
		return err
	}
	u, err := s.currentUser(c)
	if err != nil {
		return err
	}
	cred, err := s.cfg.WebAuthn.FinishRegistration(c.UserContext(), u, req.CeremonyID, req.Credential, req.Name)
	if err != nil {
		s.record(c, sesame.AuditEvent{Event: audit.PasskeyAdded, Result: sesame.ErrorCode(err), UserID: u.ID})
		return err
	}
	s.record(c, sesame.AuditEvent{Event: audit.PasskeyAdded, Result: "success", UserID: u.ID,
		CredentialID: webauthn.CredentialID(cred.ID), Detail: cred.Name})
	return c.Status(fiber.StatusCreated).JSON(fiber.Map{"credential": toCredentialJSON(cred)})
}

func (s *Server) webauthnLoginBegin(c *fiber.Ctx) error {
	var req struct {
		Email string `json:"email"`
	}
	if err := parseBody(c, &req); err != nil {
		return err
	}
	id, options, err := s.cfg.WebAuthn.BeginLogin(c.UserContext(), req.Email)
	if err != nil {
		return err
	}
	return c.JSON(ceremonyJSON{CeremonyID: id, PublicKey: options})
}

func (s *Server) webauthnLoginFinish(c *fiber.Ctx) error {
	req, err := parseFinish(c)
	if err != nil {
		return err
	}
	proof, err := s.cfg.WebAuthn.FinishLogin(c.UserContext(), req.CeremonyID, req.Credential)
	return s.finishSignIn(c, proof, err)
}

// credentialsOf lists the signed-in user's credentials for /api/me.
func (s *Server) credentialsOf(c *fiber.Ctx) ([]credentialJSON, error) {
	out := []credentialJSON{}
	if s.cfg.WebAuthn == nil {
		return out, nil
	}
	list, err := s.cfg.WebAuthn.List(c.UserContext(), claimsOf(c).Subject)
	if err != nil {
		return nil, err
	}
	for _, cred := range list {
		out = append(out, toCredentialJSON(cred))
	}
	return out, nil
}

func (s *Server) renameMyCredential(c *fiber.Ctx) error {
	var req struct {
		Name *string `json:"name"`
	}
	if err := parseBody(c, &req); err != nil {
		return err
	}
	if req.Name == nil {
		return sesame.Errorf(sesame.EBadRequest, "name is required.")
	}
	id, err := webauthn.ParseCredentialID(c.Params("id"))
	if err != nil {
		return err
	}
	cred, err := s.cfg.WebAuthn.Rename(c.UserContext(), claimsOf(c).Subject, id, *req.Name)
	if err != nil {
		return err
	}
	s.record(c, sesame.AuditEvent{Event: audit.PasskeyRenamed, Result: "success", UserID: cred.UserID,
		CredentialID: webauthn.CredentialID(cred.ID), Detail: cred.Name})
	return c.JSON(fiber.Map{"credential": toCredentialJSON(cred)})
}

// removeMyCredential runs behind requireRecentAuth, like adding one.
// removeMyCredential deletes one of the user's passkeys and ends their
// other sessions. Behind requireAuth and requireRecentAuth.
func (s *Server) removeMyCredential(c *fiber.Ctx) error {
	id, err := webauthn.ParseCredentialID(c.Params("id"))
	if err != nil {
		return err
	}
	if err := s.cfg.WebAuthn.Remove(c.UserContext(), claimsOf(c).Subject, id); err != nil {
		return err
	}
	s.record(c, sesame.AuditEvent{Event: audit.PasskeyRemoved, Result: "success", UserID: claimsOf(c).Subject,
		CredentialID: webauthn.CredentialID(id)})
	// A removed passkey may be a lost or stolen one: end every session but
	// this one, which just proved a recent sign-in (SECURITY rule 32).
	if err := s.endOtherSessions(c); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}
