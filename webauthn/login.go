package webauthn

// Sign-in: discoverable and email-first logins (WebAuthn L3 §7.2), and the fake credentials that keep addresses private.

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	gowebauthn "github.com/go-webauthn/webauthn/webauthn"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/signin"
)

// BeginLogin starts a sign-in. With email "" it is a discoverable login:
// the authenticator offers the user's passkeys (the passkey button, and
// browser autofill). With an email, allowCredentials lists that account's
// credentials; an address without an account or without a passkey gets
// stable fake ones of the same shape, so the answer tells nothing about
// the address (WebAuthn L3 §14.6.2, SECURITY rule 10). It returns the
// ceremony id, a ticket that stores nothing (ticket.go), and the
// PublicKeyCredentialRequestOptionsJSON.
func (s *Service) BeginLogin(ctx context.Context, email string) (string, json.RawMessage, error) {
	if strings.TrimSpace(email) == "" {
		assertion, session, err := s.rp.BeginDiscoverableLogin()
		if err != nil {
			return "", nil, fmt.Errorf("begin login: %w", err)
		}
		return s.beginTicket(ticket{discoverable: true}, session, assertion.Response)
	}
	email, err := sesame.NormalizeEmail(email)
	if err != nil {
		return "", nil, err
	}
	var creds []sesame.Credential
	u, err := s.cfg.Store.UserByEmail(ctx, email)
	switch {
	case errors.Is(err, sesame.ErrNotFound):
		// The same queries as for an account, so that the answer takes
		// as long (SECURITY rule 35).
		if _, err := s.cfg.Store.CredentialsByUser(ctx, ""); err != nil {
			return "", nil, fmt.Errorf("begin login: %w", err)
		}
	case err != nil:
		return "", nil, fmt.Errorf("begin login: %w", err)
	case u.DisabledAt == nil:
		if creds, err = s.cfg.Store.CredentialsByUser(ctx, u.ID); err != nil {
			return "", nil, fmt.Errorf("begin login: %w", err)
		}
	}
	who, userID := s.fakeUser(email), ""
	if len(creds) > 0 {
		who, userID = newUser(u, creds), u.ID
	}
	assertion, session, err := s.rp.BeginLogin(who)
	if err != nil {
		return "", nil, fmt.Errorf("begin login: %w", err)
	}
	return s.beginTicket(ticket{userID: userID}, session, assertion.Response)
}

// beginTicket completes t with session's challenge and the expiry, and
// returns it sealed as the ceremony id, with options. Nothing is stored.
func (s *Service) beginTicket(t ticket, session *gowebauthn.SessionData, options any) (string, json.RawMessage, error) {
	challenge, err := base64.RawURLEncoding.DecodeString(session.Challenge)
	if err != nil || len(challenge) != challengeSize {
		return "", nil, fmt.Errorf("begin login: challenge of %d bytes, %v", len(challenge), err)
	}
	body, err := json.Marshal(options)
	if err != nil {
		return "", nil, fmt.Errorf("begin login: %w", err)
	}
	t.challenge, t.expires = challenge, s.cfg.Now().Add(CeremonyTTL)
	return s.seal(purposeLogin, t), body, nil
}

// FinishLogin verifies the assertion response credential against ceremony
// ceremonyID and returns the proof of who signed in, for signin.Complete:
// the user, the credential, and the session's amr values ("swk" for a
// backup-eligible (synced) credential, "hwk" for a device-bound one, and
// "user" when the authenticator verified the user; RFC 8176). Its spend
// stores the credential's new signature counter. On failure the proof
// still names the user and credential when they are known.
func (s *Service) FinishLogin(ctx context.Context, ceremonyID string, credential []byte) (signin.Proof, error) {
	c, session, err := s.load(ctx, ceremonyID)
	if err != nil {
		return signin.Proof{Method: signin.MethodPasskey}, err
	}
	if c.Type != sesame.CeremonyLogin {
		return signin.Proof{Method: signin.MethodPasskey}, s.refuse(ctx, c, "ceremony of another type", nil)
	}
	return s.finishAssertion(ctx, c, session, credential)
}
