package webauthn

// Approving one exact action (OpenID CIBA): a passkey assertion of one
// user over a challenge the caller derives from the request and its
// message (SECURITY rule 61).

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"

	gowebauthn "github.com/go-webauthn/webauthn/webauthn"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/signin"
)

// BeginApproval starts an assertion over challenge, limited to u's own
// credentials. It fails with bad_request when u has no passkey: a person
// signed in by email alone can deny but not approve.
func (s *Service) BeginApproval(ctx context.Context, u sesame.User, challenge []byte) (string, json.RawMessage, error) {
	creds, err := s.cfg.Store.CredentialsByUser(ctx, u.ID)
	if err != nil {
		return "", nil, fmt.Errorf("begin approval: %w", err)
	}
	if len(creds) == 0 {
		return "", nil, sesame.Errorf(sesame.EBadRequest, "Approving needs a passkey, and this account has none.")
	}
	assertion, session, err := s.rp.BeginLogin(newUser(u, creds), gowebauthn.WithChallenge(challenge))
	if err != nil {
		return "", nil, fmt.Errorf("begin approval: %w", err)
	}
	return s.begin(ctx, sesame.CeremonyApproval, u.ID, session, assertion.Response)
}

// FinishApproval verifies the assertion of an approval ceremony begun for
// u, after bound has accepted the ceremony's challenge as made for the
// request being approved. The proof's spends (the ceremony, the
// credential's counter) are the caller's to commit.
func (s *Service) FinishApproval(ctx context.Context, u sesame.User, ceremonyID string, bound func(challenge []byte) bool, credential []byte) (signin.Proof, error) {
	failed := signin.Proof{Method: signin.MethodPasskey, User: sesame.User{ID: u.ID}}
	c, session, err := s.load(ctx, ceremonyID)
	if err != nil {
		return failed, err
	}
	if c.Type != sesame.CeremonyApproval || c.UserID != u.ID {
		return failed, s.refuse(ctx, c, "ceremony of another type or user", nil)
	}
	challenge, err := base64.RawURLEncoding.DecodeString(session.Challenge)
	if err != nil || !bound(challenge) {
		return failed, s.refuse(ctx, c, "ceremony begun for another request or message", nil)
	}
	return s.finishAssertion(ctx, c, session, credential)
}
