package webauthn

// Registration: adding a passkey or security key to an account (WebAuthn L3 §7.1).

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/protocol/webauthncose"
	gowebauthn "github.com/go-webauthn/webauthn/webauthn"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/mail"
)

// credentialParameters are the algorithms offered, in order of preference:
// ES256 (-7), EdDSA (-8), RS256 (-257) (SECURITY rule 5).
func credentialParameters() []protocol.CredentialParameter {
	return []protocol.CredentialParameter{
		{Type: protocol.PublicKeyCredentialType, Algorithm: webauthncose.AlgES256},
		{Type: protocol.PublicKeyCredentialType, Algorithm: webauthncose.AlgEdDSA},
		{Type: protocol.PublicKeyCredentialType, Algorithm: webauthncose.AlgRS256},
	}
}

// BeginRegistration starts adding a passkey or security key to u.
// authenticator is AuthenticatorAny, AuthenticatorPlatform or
// AuthenticatorCrossPlatform. It returns the ceremony id and the
// PublicKeyCredentialCreationOptionsJSON for navigator.credentials.create.
// The caller checks that u signed in recently with a full session
// (SECURITY rule 9).
func (s *Service) BeginRegistration(ctx context.Context, u sesame.User, authenticator string) (string, json.RawMessage, error) {
	// A discoverable credential is what makes sign-in without an email
	// work; security keys have few slots, so for them it is only preferred.
	sel := protocol.AuthenticatorSelection{
		ResidentKey:        protocol.ResidentKeyRequirementRequired,
		RequireResidentKey: protocol.ResidentKeyRequired(),
		UserVerification:   s.uv,
	}
	var hints []protocol.PublicKeyCredentialHints
	switch authenticator {
	case AuthenticatorAny:
	case AuthenticatorPlatform:
		sel.AuthenticatorAttachment = protocol.Platform
		hints = []protocol.PublicKeyCredentialHints{protocol.PublicKeyCredentialHintClientDevice}
	case AuthenticatorCrossPlatform:
		sel.AuthenticatorAttachment = protocol.CrossPlatform
		sel.ResidentKey, sel.RequireResidentKey = protocol.ResidentKeyRequirementPreferred, protocol.ResidentKeyNotRequired()
		hints = []protocol.PublicKeyCredentialHints{protocol.PublicKeyCredentialHintSecurityKey}
	default:
		return "", nil, sesame.Errorf(sesame.EBadRequest, `authenticator must be "platform", "cross-platform" or null.`)
	}
	creds, err := s.cfg.Store.CredentialsByUser(ctx, u.ID)
	if err != nil {
		return "", nil, fmt.Errorf("begin registration: %w", err)
	}
	who := newUser(u, creds)
	opts := []gowebauthn.RegistrationOption{
		gowebauthn.WithAuthenticatorSelection(sel),
		gowebauthn.WithConveyancePreference(protocol.PreferNoAttestation),
		gowebauthn.WithCredentialParameters(credentialParameters()),
		// The user's own credentials, so an authenticator that holds one
		// says so instead of making a second (SECURITY rule 9).
		gowebauthn.WithExclusions(gowebauthn.Credentials(who.creds).CredentialDescriptors()),
		// credProps tells whether the credential is discoverable; it is
		// recorded (SECURITY rule 60).
		gowebauthn.WithExtensions(gowebauthn.WithExtensionCredProps()),
	}
	if hints != nil {
		opts = append(opts, gowebauthn.WithPublicKeyCredentialHints(hints))
	}
	creation, session, err := s.rp.BeginRegistration(who, opts...)
	if err != nil {
		return "", nil, fmt.Errorf("begin registration: %w", err)
	}
	return s.begin(ctx, sesame.CeremonyRegistration, u.ID, session, creation.Response)
}

// FinishRegistration verifies the attestation response credential (the
// JSON of PublicKeyCredential.toJSON()) against ceremony ceremonyID, begun
// for u, and stores the new credential under name, or under the
// authenticator's name when name is empty. It queues an email notice to
// the user. A credential id already registered, to anyone, is a conflict.
func (s *Service) FinishRegistration(ctx context.Context, u sesame.User, ceremonyID string, credential []byte, name string) (sesame.Credential, error) {
	name, err := CleanName(name)
	if err != nil {
		return sesame.Credential{}, err
	}
	c, session, err := s.consume(ctx, ceremonyID)
	if err != nil {
		return sesame.Credential{}, err
	}
	if c.Type != sesame.CeremonyRegistration || c.UserID != u.ID {
		return sesame.Credential{}, s.fail(c, "ceremony of another type or user", nil)
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(credential)
	if err != nil {
		return sesame.Credential{}, s.fail(c, "unreadable attestation response", err)
	}
	if !s.exactOrigin(parsed.Response.CollectedClientData.Origin) {
		return sesame.Credential{}, s.fail(c, "origin is not exactly a configured one", nil)
	}
	cred, err := s.rp.CreateCredential(newUser(u, nil), *session, parsed)
	if err != nil {
		return sesame.Credential{}, s.fail(c, "attestation not verified", err)
	}
	if len(cred.ID) == 0 || len(cred.ID) > sesame.MaxCredentialIDLength {
		return sesame.Credential{}, s.fail(c, "credential id length out of range", nil)
	}
	now := s.cfg.Now()
	rec := sesame.Credential{
		ID:                cred.ID,
		UserID:            u.ID,
		Name:              name,
		PublicKey:         cred.PublicKey,
		SignCount:         cred.Authenticator.SignCount,
		AAGUID:            cred.Authenticator.AAGUID,
		Attachment:        knownAttachment(cred.Authenticator.Attachment),
		Transports:        knownTransports(cred.Transport),
		AttestationType:   cred.AttestationType,
		AttestationFormat: cred.AttestationFormat,
		UserVerified:      cred.Flags.UserVerified,
		BackupEligible:    cred.Flags.BackupEligible,
		BackupState:       cred.Flags.BackupState,
		Discoverable:      cred.Extensions.RK,
		CreatedAt:         now,
	}
	if rec.Name == "" {
		rec.Name = KnownAuthenticator(rec.AAGUID)
	}
	if rec.Name == "" {
		rec.Name = DefaultName
	}
	if err := s.cfg.Store.CreateCredential(ctx, rec); err != nil {
		return sesame.Credential{}, fmt.Errorf("finish registration: %w", err)
	}
	s.cfg.Logger.Info("passkey added", "user", u.ID, "credential", CredentialID(rec.ID), "aaguid", AAGUIDString(rec.AAGUID),
		"backup_eligible", rec.BackupEligible)
	s.cfg.Mail.Enqueue(mail.Notice(u.Email, mail.NoticePasskeyAdded, mail.NoticeData{
		PasskeyName: rec.Name,
		Time:        now,
		AccountURL:  strings.TrimRight(s.cfg.PublicURL, "/") + "/account",
	}))
	return rec, nil
}

// knownTransports keeps the transports WebAuthn L3 §5.8.4 defines, once
// each: the client sends the list, so it is not stored unchecked.
func knownTransports(in []protocol.AuthenticatorTransport) []string {
	var out []string
	for _, t := range in {
		switch t {
		case protocol.USB, protocol.NFC, protocol.BLE, protocol.SmartCard, protocol.Hybrid, protocol.Internal:
			if !slices.Contains(out, string(t)) {
				out = append(out, string(t))
			}
		}
	}
	return out
}

// knownAttachment is the client's authenticatorAttachment if it is one
// WebAuthn defines, else "".
func knownAttachment(a protocol.AuthenticatorAttachment) string {
	if a == protocol.Platform || a == protocol.CrossPlatform {
		return string(a)
	}
	return ""
}
