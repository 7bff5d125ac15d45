package password

import (
	"context"
	"fmt"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/signin"
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

// CompleteWith checks the second factor of p with check, a code another
// package owns, and returns the proof of the password sign-in for
// signin.Complete under method: amr "pwd", "otp", "mfa" (SECURITY rule 29)
// and a spend of p. The check is itself the code's one conditional write
// (a recovery code spent, an app's step moved on), made before the session
// so that a wrong code costs the same as a right one. Guesses are counted
// per token before check runs, so parallel guesses get no more than
// MaxAttempts together; the last wrong one ends p for every factor
// (SECURITY rule 28).
func (s *Service) CompleteWith(ctx context.Context, p Pending, method string, check CodeCheck) (signin.Proof, error) {
	proof := signin.Proof{Method: method, User: sesame.User{ID: p.UserID}}
	u, err := s.Check(ctx, p)
	if err != nil {
		return proof, err
	}
	n, err := s.cfg.Store.CountMFACodeAttempt(ctx, p.JTI, p.ExpiresAt)
	if err != nil {
		return proof, fmt.Errorf("mfa code: %w", err)
	}
	if n > s.cfg.MaxAttempts {
		return proof, s.endAfterAttempts(ctx, p)
	}
	if err := check(ctx, u); sesame.ErrorCode(err) == sesame.EInvalidCode {
		left := s.cfg.MaxAttempts - n
		if left == 0 {
			if err := s.endAfterAttempts(ctx, p); err != errMFAEnded {
				return proof, err
			}
		}
		return proof, &sesame.Error{Code: sesame.EInvalidCode, Message: sesame.ErrorMessage(err), Extra: map[string]any{"attempts_left": left}}
	} else if err != nil {
		return proof, err
	}
	proof.User, proof.AMR, proof.Spends = u, []string{"pwd", "otp", "mfa"}, []signin.Spend{spend(p)}
	return proof, nil
}

// endAfterAttempts marks p used up and answers that the sign-in has ended.
func (s *Service) endAfterAttempts(ctx context.Context, p Pending) error {
	if err := s.use(ctx, p, usedUpAttempts); err != nil && err != errMFAEnded {
		return err
	}
	return errMFAEnded
}
