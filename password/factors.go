package password

import (
	"context"
	"fmt"

	"github.com/sesame-auth/sesame"
)

// Factors says which second factors besides passkeys and emailed codes a
// user has set up; db.DB implements it.
type Factors interface {
	HasTOTP(ctx context.Context, userID string) (bool, error)
	RecoveryCodesLeft(ctx context.Context, userID string) (int, error)
}

// CodeCheck checks a code another package owns (an authenticator app's, a
// recovery code) for the user whose password was proved. It answers
// sesame.EInvalidCode for a wrong code.
type CodeCheck func(ctx context.Context, u sesame.User) error

// CompleteWith completes the second factor of p with check and, on success,
// spends p and returns its user: the caller starts the session. Guesses
// are counted per token before check runs, so parallel guesses get no more
// than MaxAttempts together; the last wrong one ends p for every factor
// (SECURITY rule 28).
func (s *Service) CompleteWith(ctx context.Context, p Pending, check CodeCheck) (sesame.User, error) {
	u, err := s.Check(ctx, p)
	if err != nil {
		return sesame.User{}, err
	}
	n, err := s.cfg.Store.CountMFACodeAttempt(ctx, p.JTI, p.ExpiresAt)
	if err != nil {
		return sesame.User{}, fmt.Errorf("mfa code: %w", err)
	}
	if n > s.cfg.MaxAttempts {
		return sesame.User{}, s.endAfterAttempts(ctx, p)
	}
	if err := check(ctx, u); sesame.ErrorCode(err) == sesame.EInvalidCode {
		left := s.cfg.MaxAttempts - n
		if left == 0 {
			if err := s.endAfterAttempts(ctx, p); err != errMFAEnded {
				return sesame.User{}, err
			}
		}
		return sesame.User{}, &sesame.Error{Code: sesame.EInvalidCode, Message: sesame.ErrorMessage(err), Extra: map[string]any{"attempts_left": left}}
	} else if err != nil {
		return sesame.User{}, err
	}
	if err := s.Spend(ctx, p); err != nil {
		return sesame.User{}, err
	}
	return u, nil
}

// endAfterAttempts marks p used up and answers that the sign-in has ended.
func (s *Service) endAfterAttempts(ctx context.Context, p Pending) error {
	if err := s.use(ctx, p, usedUpAttempts); err != nil && err != errMFAEnded {
		return err
	}
	return errMFAEnded
}
