// Package recovery runs recovery codes: ten one-time codes a user keeps on
// paper for the day their passkeys and their mailbox are both out of
// reach. Each code carries 50 bits from crypto/rand, is shown once, and is
// stored only as HMAC-SHA-256 under a key of its own (bound to the user),
// so a stolen database yields no usable code. A code is spent by one
// conditional UPDATE: of two uses at once, one wins.
package recovery

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/signin"
)

// Store keeps the codes' MACs; db.DB implements it.
type Store interface {
	ReplaceRecoveryCodes(ctx context.Context, userID string, macs [][]byte, now time.Time) error
	UseRecoveryCode(ctx context.Context, userID string, mac []byte, now time.Time) error
	RecoveryCodesLeft(ctx context.Context, userID string) (int, error)
	UserByEmail(ctx context.Context, email string) (sesame.User, error)
}

// Tarpit delays repeated failures per address; the password's
// limit.Tarpit is the one used, so guesses by password and by recovery
// code share one budget (SECURITY rules 34 and 53).
type Tarpit interface {
	// Claim counts an attempt as a failure before the proof is checked,
	// or refuses while the address must wait.
	Claim(ctx context.Context, subject string) error
	// Succeed clears the count after a proof held.
	Succeed(ctx context.Context, subject string) error
}

// Count is how many codes a set holds.
const Count = 10

// Config configures a Service.
type Config struct {
	Store Store
	// Key is the HMAC key codes are stored under (sesame.PurposeRecoveryCodeMAC).
	Key []byte
	// Tarpit, when set, counts sign-ins by address and code.
	Tarpit Tarpit
	Now    func() time.Time
}

// Service makes and spends recovery codes. It is safe for concurrent use.
type Service struct {
	cfg Config
}

// New returns a Service.
func New(cfg Config) *Service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Service{cfg: cfg}
}

var (
	errWrongCode = sesame.Errorf(sesame.EInvalidCode, "That recovery code is not right, or it was already used.")
	// errSignIn is the one answer to every failed sign-in by address and
	// code: known or unknown address, wrong or spent code (SECURITY rule 35).
	errSignIn = sesame.Errorf(sesame.EInvalidCredentials, "That address and recovery code do not match.")
)

// Generate makes a new set of Count codes for userID, replacing every
// earlier one, and returns them for the user to write down: they are never
// shown again.
func (s *Service) Generate(ctx context.Context, userID string) ([]string, error) {
	codes := make([]string, Count)
	macs := make([][]byte, Count)
	for i := range codes {
		codes[i] = NewCode()
		macs[i] = s.mac(userID, canonical(codes[i]))
	}
	if err := s.cfg.Store.ReplaceRecoveryCodes(ctx, userID, macs, s.cfg.Now()); err != nil {
		return nil, fmt.Errorf("recovery codes: %w", err)
	}
	return codes, nil
}

// Left counts userID's unused codes.
func (s *Service) Left(ctx context.Context, userID string) (int, error) {
	return s.cfg.Store.RecoveryCodesLeft(ctx, userID)
}

// Use spends one of userID's codes. A malformed code is bad_request; a
// wrong, spent or foreign one is invalid_code.
func (s *Service) Use(ctx context.Context, userID, code string) error {
	c, ok := Parse(code)
	if !ok {
		return errFormat
	}
	return s.use(ctx, userID, c)
}

func (s *Service) use(ctx context.Context, userID, c string) error {
	err := s.cfg.Store.UseRecoveryCode(ctx, userID, s.mac(userID, c), s.cfg.Now())
	if errors.Is(err, sesame.ErrNotFound) {
		return errWrongCode
	} else if err != nil {
		return fmt.Errorf("use recovery code: %w", err)
	}
	return nil
}

// SignIn spends a code of the account at email, for a person who lost both
// passkey and mailbox, and returns the proof for signin.Complete: amr
// "otp". Every failure — an unknown address, a wrong or spent code — is
// the same invalid_credentials after the same work: one HMAC and one
// conditional UPDATE (SECURITY rule 35). Every try counts in the tarpit of
// the address before the code is looked at (rule 53); a success clears it.
// The spend is the check, so it is made here rather than in the sign-in
// transaction: should the session then fail to be written, that one code
// is lost and the others remain.
func (s *Service) SignIn(ctx context.Context, email, code string) (signin.Proof, error) {
	proof := signin.Proof{Method: signin.MethodRecoveryCode}
	email, err := sesame.NormalizeEmail(email)
	if err != nil {
		return proof, err
	}
	c, ok := Parse(code)
	if !ok {
		return proof, errFormat
	}
	if s.cfg.Tarpit != nil {
		if err := s.cfg.Tarpit.Claim(ctx, email); err != nil {
			return proof, err
		}
	}
	u, err := s.cfg.Store.UserByEmail(ctx, email)
	userID := u.ID
	switch {
	case errors.Is(err, sesame.ErrNotFound):
		userID = "unknown:" + email // matches no row, costs the same write
	case err != nil:
		return proof, fmt.Errorf("recovery sign-in: %w", err)
	}
	proof.User.ID = u.ID
	if err := s.use(ctx, userID, c); sesame.ErrorCode(err) == sesame.EInvalidCode {
		return proof, errSignIn // Claim counted the failure
	} else if err != nil {
		return proof, err
	}
	if s.cfg.Tarpit != nil {
		// A failure to clear is not the caller's problem: the answer stands.
		_ = s.cfg.Tarpit.Succeed(ctx, email)
	}
	proof.User, proof.AMR = u, []string{"otp"}
	return proof, nil
}

// mac binds a canonical code to its user: HMAC(key, user id ‖ 0 ‖ code).
// Another account's code never matches.
func (s *Service) mac(userID, code string) []byte {
	m := hmac.New(sha256.New, s.cfg.Key)
	m.Write([]byte(userID))
	m.Write([]byte{0})
	m.Write([]byte(code))
	return m.Sum(nil)
}

var errFormat = sesame.Errorf(sesame.EBadRequest, "A recovery code is ten letters and digits, like 4kq7m-x2c9p.")

// CheckFormat answers bad_request unless code reads as a recovery code
// (Parse): a caller that counts guesses checks it first, so a typo costs
// no attempt.
func CheckFormat(code string) error {
	if _, ok := Parse(code); !ok {
		return errFormat
	}
	return nil
}

// Alphabet is Crockford's base32 in lower case: digits and letters
// without i, l, o and u, so no two characters look alike.
const Alphabet = "0123456789abcdefghjkmnpqrstvwxyz"

// NewCode returns a new code: ten characters of Alphabet (50 bits from
// crypto/rand), grouped "xxxxx-xxxxx".
func NewCode() string {
	b := sesame.RandomBytes(10)
	var sb strings.Builder
	for i, v := range b {
		if i == 5 {
			sb.WriteByte('-')
		}
		sb.WriteByte(Alphabet[v&31]) // 256 is a multiple of 32: no bias
	}
	return sb.String()
}

// Parse reads a code as a person may type it — any case, with or without
// the dash, spaces around groups, i and l for 1, o for 0 (Crockford's
// decoding) — and returns its canonical form, ten characters of Alphabet.
func Parse(code string) (string, bool) {
	if len(code) > 32 {
		return "", false
	}
	var sb strings.Builder
	for _, r := range strings.ToLower(code) {
		switch {
		case r == '-' || r == ' ':
			continue
		case r == 'i' || r == 'l':
			r = '1'
		case r == 'o':
			r = '0'
		}
		if r > 127 || !strings.ContainsRune(Alphabet, r) {
			return "", false
		}
		sb.WriteRune(r)
	}
	if sb.Len() != 10 {
		return "", false
	}
	return sb.String(), true
}

func canonical(code string) string {
	c, _ := Parse(code)
	return c
}
