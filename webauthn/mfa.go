package webauthn

// The second factor after a password: a passkey check bound to one user.

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/signin"
)

// BeginMFA starts a passkey check for u as the second factor after a
// password. It fails with bad_request when u has no credential.
func (s *Service) BeginMFA(ctx context.Context, u sesame.User) (string, json.RawMessage, error) {
	creds, err := s.cfg.Store.CredentialsByUser(ctx, u.ID)
	if err != nil {
		return "", nil, fmt.Errorf("begin mfa: %w", err)
	}
	if len(creds) == 0 {
		return "", nil, sesame.Errorf(sesame.EBadRequest, "This account has no passkey.")
	}
	assertion, session, err := s.rp.BeginLogin(newUser(u, creds))
	if err != nil {
		return "", nil, fmt.Errorf("begin mfa: %w", err)
	}
	return s.begin(ctx, sesame.CeremonyMFA, u.ID, session, assertion.Response)
}

// FinishMFA verifies the assertion of an MFA ceremony begun for u and
// returns its proof, as FinishLogin does; the password package turns it
// into the proof of a password sign-in (adding "pwd" and "mfa").
func (s *Service) FinishMFA(ctx context.Context, u sesame.User, ceremonyID string, credential []byte) (signin.Proof, error) {
	failed := signin.Proof{Method: signin.MethodPasskey, User: sesame.User{ID: u.ID}}
	c, session, err := s.load(ctx, ceremonyID)
	if err != nil {
		return failed, err
	}
	if c.Type != sesame.CeremonyMFA || c.UserID != u.ID {
		return failed, s.refuse(ctx, c, "ceremony of another type or user", nil)
	}
	return s.finishAssertion(ctx, c, session, credential)
}
