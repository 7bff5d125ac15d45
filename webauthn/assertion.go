package webauthn

// Verifying an assertion, shared by sign-in and the second factor (WebAuthn L3 §7.2).

import (
	"context"
	"crypto/hmac"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	gowebauthn "github.com/go-webauthn/webauthn/webauthn"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/signin"
)

// finishAssertion verifies an assertion for a consumed login or MFA
// ceremony (WebAuthn L3 §7.2) and returns its proof, whose spend records
// the credential's use by compare-and-swap on the counter read here.
func (s *Service) finishAssertion(ctx context.Context, c ceremony, session *gowebauthn.SessionData, body []byte) (signin.Proof, error) {
	proof := signin.Proof{Method: signin.MethodPasskey, User: sesame.User{ID: c.UserID}}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(body)
	if err != nil {
		return proof, s.refuse(ctx, c, "unreadable assertion response", err)
	}
	if !s.exactOrigin(parsed.Response.CollectedClientData.Origin) {
		return proof, s.refuse(ctx, c, "origin is not exactly a configured one", nil)
	}
	rec, err := s.cfg.Store.CredentialByID(ctx, parsed.RawID)
	if errors.Is(err, sesame.ErrNotFound) {
		return proof, s.refuse(ctx, c, "unknown credential", nil)
	} else if err != nil {
		return proof, fmt.Errorf("finish %s: %w", c.Type, err)
	}
	proof.User.ID, proof.CredentialID = rec.UserID, rec.ID
	owner, err := s.cfg.Store.UserByID(ctx, rec.UserID)
	if err != nil {
		return proof, fmt.Errorf("finish %s: %w", c.Type, err)
	}
	var cred *gowebauthn.Credential
	if c.discoverable {
		// Discoverable: the user handle must name the credential's owner
		// (WebAuthn L3 §7.2 step 6, SECURITY rule 7). The library refuses
		// an empty handle before calling us.
		_, cred, err = s.rp.ValidatePasskeyLogin(func(rawID, userHandle []byte) (gowebauthn.User, error) {
			if !hmac.Equal(userHandle, owner.WebAuthnHandle) {
				return nil, errors.New("user handle is not the credential owner's")
			}
			return newUser(owner, []sesame.Credential{rec}), nil
		}, *session, parsed)
	} else {
		// Email-first or MFA: the ceremony was begun for one user, and the
		// credential must be theirs.
		if c.UserID == "" || rec.UserID != c.UserID {
			proof.User.ID = c.UserID
			return proof, s.refuse(ctx, c, "credential of another user", nil)
		}
		var creds []sesame.Credential
		if creds, err = s.cfg.Store.CredentialsByUser(ctx, owner.ID); err != nil {
			return proof, fmt.Errorf("finish %s: %w", c.Type, err)
		}
		if c.challengeHash != nil {
			// A ticket was begun for this account: the library's session
			// named its user handle.
			session.UserID = owner.WebAuthnHandle
		}
		cred, err = s.rp.ValidateLogin(newUser(owner, creds), *session, parsed)
	}
	if err != nil {
		return proof, s.refuse(ctx, c, "assertion not verified", err)
	}
	// Sign counter (WebAuthn L3 §7.2 step 22, SECURITY rule 8): the library
	// flags a counter that did not increase while either value is non-zero.
	if cred.Authenticator.CloneWarning {
		if err := s.refuse(ctx, c, "sign counter did not increase", nil); errors.Is(err, errUsed) {
			return proof, err // a replay of a spent ticket's assertion, not a clone
		}
		s.cfg.Logger.Warn("webauthn: possible cloned authenticator: sign counter did not increase; sign-in refused",
			"ceremony", c.Type, "user", owner.ID, "credential", CredentialID(rec.ID),
			"stored_count", rec.SignCount, "presented_count", parsed.Response.AuthenticatorData.Counter)
		return proof, fmt.Errorf("%w: %w", signin.ErrPossibleClone, errFailed)
	}
	proof.User = owner
	used := rec
	used.SignCount = cred.Authenticator.SignCount
	used.BackupState = cred.Flags.BackupState
	used.UserVerified = cred.Flags.UserVerified
	// The ceremony is spent with the session: of two finishes that
	// verified, only one commits.
	proof.Spends = append(proof.Spends, c.spend, func(ctx context.Context, tx signin.Tx, now time.Time) error {
		used.LastUsedAt = &now
		if err := tx.UseCredential(ctx, used, rec.SignCount, now); errors.Is(err, sesame.ErrNotFound) {
			// Another sign-in with this credential stored a counter first,
			// or the credential was removed meanwhile.
			s.cfg.Logger.Warn("webauthn: credential changed during sign-in; refused", "ceremony", c.Type,
				"user", owner.ID, "credential", CredentialID(rec.ID))
			return errFailed
		} else if err != nil {
			return fmt.Errorf("finish %s: %w", c.Type, err)
		}
		return nil
	})
	proof.AMR = []string{"hwk"}
	if used.BackupEligible {
		proof.AMR[0] = "swk"
	}
	// Whether this ceremony verified the user is its own UV flag, not the
	// record's (WebAuthn L3 §7.2 step 17).
	if parsed.Response.AuthenticatorData.Flags.HasUserVerified() {
		proof.AMR = append(proof.AMR, "user")
	}
	return proof, nil
}

// exactOrigin reports whether origin, as the client put it in
// clientDataJSON, is byte for byte one of the configured origins.
func (s *Service) exactOrigin(origin string) bool {
	return slices.Contains(s.origins, origin)
}
