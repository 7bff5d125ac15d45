package password

import (
	"context"
	"crypto/hmac"
	"errors"
	"fmt"
	"time"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/magiclink"
	"github.com/sesame-auth/sesame/mail"
	"github.com/sesame-auth/sesame/signin"
)

// Pending is a verified MFA-pending token (token.Issuer.VerifyMFA): a
// password was proved, a second factor is still due (SECURITY rule 28).
type Pending struct {
	JTI       string
	UserID    string
	ExpiresAt time.Time
}

// Why an MFA-pending token may not be used again (mfa_tokens_used.reason).
const (
	usedForSession = "session"
	usedUpAttempts = "attempts"
	// usedDisabled: the account was disabled while the token was
	// pending; enabling it again does not bring the sign-in back.
	usedDisabled = "disabled"
)

var (
	errMFAEnded   = sesame.Errorf(sesame.EUnauthorized, "This sign-in has ended. Sign in again.")
	errNoCodeSent = sesame.Errorf(sesame.EBadRequest, "No code was sent for this sign-in yet. Ask for one first.")
)

// codeFlowID names the email flow that carries p's code. Deriving it from
// the token's jti binds the code to the token: one flow per token, found
// again for resends without any state in the client.
func codeFlowID(jti string) string { return "mfa_" + jti }

// Check returns an error unless p may still be used: its user exists and
// is enabled, and the token has not produced a session or run out of code
// attempts. A disabled account ends the token. It is for every step of
// the second factor, the passkey one included.
func (s *Service) Check(ctx context.Context, p Pending) (sesame.User, error) {
	if p.JTI == "" || p.UserID == "" {
		return sesame.User{}, errMFAEnded
	}
	used, err := s.cfg.Store.MFATokenUsed(ctx, p.JTI)
	if err != nil {
		return sesame.User{}, fmt.Errorf("mfa: %w", err)
	} else if used {
		return sesame.User{}, errMFAEnded
	}
	u, err := s.cfg.Store.UserByID(ctx, p.UserID)
	if errors.Is(err, sesame.ErrNotFound) {
		return sesame.User{}, errMFAEnded
	} else if err == nil && !u.Active() {
		// The pending sign-in ends here (SECURITY rule 1): its token and
		// code must not make a session once the account is enabled again.
		if err := s.use(ctx, p, usedDisabled); err != nil && !errors.Is(err, errMFAEnded) {
			return sesame.User{}, err
		}
		return sesame.User{}, sesame.ErrAccountDisabled
	} else if err != nil {
		return sesame.User{}, fmt.Errorf("mfa: %w", err)
	}
	return u, nil
}

// Spend records that p produced a session, by one conditional write: of
// two concurrent second factors for one token, only one gets a session.
func (s *Service) Spend(ctx context.Context, p Pending) error {
	return s.use(ctx, p, usedForSession)
}

// spend is Spend as a write of the sign-in transaction.
func spend(p Pending) signin.Spend {
	return func(ctx context.Context, tx signin.Tx, now time.Time) error {
		err := tx.UseMFAToken(ctx, p.JTI, p.UserID, usedForSession, now, p.ExpiresAt)
		if sesame.ErrorCode(err) == sesame.EConflict {
			return errMFAEnded
		} else if err != nil {
			return fmt.Errorf("mfa: %w", err)
		}
		return nil
	}
}

// WithPasskey turns the proof of a passkey used as the second factor after
// p's password (webauthn.Service.FinishMFA) into the proof of the password
// sign-in: amr "pwd", the passkey's, "mfa" (RFC 8176, SECURITY rule 29),
// and a spend of p, so that of two concurrent second factors for one token
// only one gets a session.
func WithPasskey(p Pending, passkey signin.Proof) signin.Proof {
	passkey.Method = signin.MethodPasswordPasskey
	if passkey.User.ID == "" {
		passkey.User.ID = p.UserID
	}
	passkey.AMR = append(append([]string{"pwd"}, passkey.AMR...), "mfa")
	passkey.Spends = append(passkey.Spends, spend(p))
	return passkey
}

func (s *Service) use(ctx context.Context, p Pending, reason string) error {
	err := s.cfg.Store.UseMFAToken(ctx, p.JTI, p.UserID, reason, s.cfg.Now(), p.ExpiresAt)
	if sesame.ErrorCode(err) == sesame.EConflict {
		return errMFAEnded
	} else if err != nil {
		return fmt.Errorf("mfa: %w", err)
	}
	return nil
}

// SendCode emails a fresh 6-digit code to the account of p, which proves a
// password was given (SECURITY rule 19). The first call creates the code's
// flow, valid CodeTTL; later calls resend a new code on it, at most
// MaxSends times in all, keeping its attempt count (rule 18). It returns
// how long the code is valid.
func (s *Service) SendCode(ctx context.Context, p Pending) (time.Duration, error) {
	u, err := s.Check(ctx, p)
	if err != nil {
		return 0, err
	}
	now, id, code := s.cfg.Now(), codeFlowID(p.JTI), magiclink.NewCode()
	mac := magiclink.CodeMAC(s.cfg.CodeKey, id, code)
	// The store gives the mail its flow's expiry when it queues it with
	// the code.
	m, err := s.cfg.Mail.Prepare(mail.MFACode(u.Email, code, int(s.cfg.CodeTTL/time.Minute)), now.Add(s.cfg.CodeTTL))
	if err != nil {
		return 0, fmt.Errorf("send mfa code: %w", err)
	}
	f, err := s.cfg.Store.ResendEmailFlow(ctx, id, mac, now, s.cfg.MaxSends, m)
	if errors.Is(err, sesame.ErrNotFound) {
		f, err = s.createCodeFlow(ctx, id, mac, m, u, p, now)
	}
	if err != nil {
		return 0, err
	}
	s.cfg.Mail.Queued(1)
	return f.ExpiresAt.Sub(now), nil
}

// createCodeFlow creates p's code flow after a resend found none live, or
// explains why there is one that cannot take another code.
func (s *Service) createCodeFlow(ctx context.Context, id string, mac []byte, m sesame.QueuedMail, u sesame.User, p Pending, now time.Time) (sesame.EmailFlow, error) {
	f, err := s.cfg.Store.EmailFlow(ctx, id)
	switch {
	case err == nil && f.ConsumedAt != nil:
		return f, errMFAEnded
	case err == nil && !now.Before(f.ExpiresAt):
		return f, sesame.Errorf(sesame.EExpired, "The code has expired. Sign in again.")
	case err == nil:
		return f, &sesame.Error{Code: sesame.ERateLimited, Message: "No more codes can be sent for this sign-in.", RetryAfter: f.ExpiresAt.Sub(now)}
	case !errors.Is(err, sesame.ErrNotFound):
		return f, fmt.Errorf("send mfa code: %w", err)
	}
	f = sesame.EmailFlow{
		ID: id, Purpose: sesame.FlowMFA, Email: u.Email, Subject: p.JTI,
		CodeMAC: mac, Sends: 1, CreatedAt: now, ExpiresAt: now.Add(s.cfg.CodeTTL),
	}
	if err := s.cfg.Store.CreateEmailFlow(ctx, f, m); sesame.ErrorCode(err) == sesame.EConflict {
		// A concurrent first send created it: count this one as a resend.
		if f, err = s.cfg.Store.ResendEmailFlow(ctx, id, mac, now, s.cfg.MaxSends, m); err != nil {
			return f, fmt.Errorf("send mfa code: %w", err)
		}
		return f, nil
	} else if err != nil {
		return f, fmt.Errorf("send mfa code: %w", err)
	}
	return f, nil
}

// VerifyCode checks the second factor of p, code, and returns the proof of
// the password sign-in for signin.Complete: amr "pwd", "otp", "mfa"
// (SECURITY rule 29); its spends end the code's flow and p. Each wrong
// code answers invalid_code with attempts_left; the MaxAttempts-th wrong
// code also ends p, so the next try fails even with the right code, and
// the token is no good for a passkey either (SECURITY rules 18, 28).
func (s *Service) VerifyCode(ctx context.Context, p Pending, code string) (signin.Proof, error) {
	proof := signin.Proof{Method: signin.MethodPasswordEmail, User: sesame.User{ID: p.UserID}}
	if !magiclink.ValidCodeFormat(code) {
		return proof, sesame.Errorf(sesame.EBadRequest, "The code is 6 digits.")
	}
	u, err := s.Check(ctx, p)
	if err != nil {
		return proof, err
	}
	now, id := s.cfg.Now(), codeFlowID(p.JTI)
	f, err := s.cfg.Store.CountCodeAttempt(ctx, id, now, s.cfg.MaxAttempts)
	if errors.Is(err, sesame.ErrNotFound) {
		return proof, s.whyNoAttempt(ctx, id, now)
	} else if err != nil {
		return proof, fmt.Errorf("verify mfa code: %w", err)
	}
	if f.Purpose != sesame.FlowMFA || f.Subject != p.JTI {
		return proof, errMFAEnded
	}
	if !hmac.Equal(magiclink.CodeMAC(s.cfg.CodeKey, f.ID, code), f.CodeMAC) {
		left := max(0, s.cfg.MaxAttempts-f.Attempts)
		if left == 0 {
			if err := s.use(ctx, p, usedUpAttempts); err != nil && !errors.Is(err, errMFAEnded) {
				return proof, err
			}
		}
		return proof, &sesame.Error{Code: sesame.EInvalidCode, Message: "That code is not right.", Extra: map[string]any{"attempts_left": left}}
	}
	proof.User, proof.AMR = u, []string{"pwd", "otp", "mfa"}
	proof.Spends = []signin.Spend{
		func(ctx context.Context, tx signin.Tx, now time.Time) error {
			if err := tx.ConsumeEmailFlow(ctx, f.ID, now); errors.Is(err, sesame.ErrNotFound) {
				return errMFAEnded // a concurrent verify won
			} else if err != nil {
				return fmt.Errorf("verify mfa code: %w", err)
			}
			return nil
		},
		spend(p),
	}
	return proof, nil
}

// whyNoAttempt explains a code flow that took no attempt.
func (s *Service) whyNoAttempt(ctx context.Context, id string, now time.Time) error {
	f, err := s.cfg.Store.EmailFlow(ctx, id)
	switch {
	case errors.Is(err, sesame.ErrNotFound):
		return errNoCodeSent
	case err != nil:
		return fmt.Errorf("verify mfa code: %w", err)
	case f.ConsumedAt != nil || f.Attempts >= s.cfg.MaxAttempts:
		return errMFAEnded
	case !now.Before(f.ExpiresAt):
		return sesame.Errorf(sesame.EExpired, "The code has expired. Ask for a new one.")
	}
	return errMFAEnded
}
