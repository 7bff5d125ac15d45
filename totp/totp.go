// Package totp runs authenticator apps: time-based one-time passwords
// (RFC 6238) as a second factor after a password. SHA-1, six digits, 30 s
// steps, one step of drift either way — what every authenticator app
// speaks. The arithmetic is github.com/pquerna/otp's; this package keeps
// the secret sealed at rest (AES-256-GCM under a purpose key, bound to its
// user), accepts each code once (the last step used is stored and moved
// forward by one conditional UPDATE), and runs enrolment: a secret shown
// once, as text and QR code, confirmed by a first code within 10 minutes.
package totp

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"time"

	"github.com/pquerna/otp"
	gototp "github.com/pquerna/otp/totp"

	"github.com/sesame-auth/sesame"
)

// Store keeps secrets and enrolments; db.DB implements it.
type Store interface {
	CreateTOTPEnrollment(ctx context.Context, id, userID string, secret []byte, now, expires time.Time) error
	CountTOTPEnrollmentAttempt(ctx context.Context, id, userID string, now time.Time, maxAttempts int) (secret []byte, attempts int, err error)
	TOTPEnrollmentState(ctx context.Context, id, userID string) (consumed bool, err error)
	FinishTOTPEnrollment(ctx context.Context, id, userID string, step int64, now time.Time) (replaced bool, err error)
	TOTPSecret(ctx context.Context, userID string) (secret []byte, lastStep int64, err error)
	UseTOTPStep(ctx context.Context, userID string, step int64) error
	HasTOTP(ctx context.Context, userID string) (bool, error)
	DeleteTOTP(ctx context.Context, userID string) (bool, error)
}

// The parameters of RFC 6238 §4 that apps assume when a URI names none.
const (
	Period     = 30 * time.Second
	Digits     = otp.DigitsSix
	Algorithm  = otp.AlgorithmSHA1
	SecretSize = 20 // bytes: 160 bits, the HMAC-SHA-1 block RFC 4226 §4 recommends
	// Skew is how many steps of clock drift are forgiven either way.
	Skew = 1

	DefaultEnrollmentTTL = 10 * time.Minute
	DefaultMaxAttempts   = 5
)

// Config configures a Service.
type Config struct {
	Store Store
	// Key seals secrets at rest (sesame.PurposeTOTPEncryption); 32 bytes.
	Key []byte
	// Issuer names the service in the app ("Sesame" or the host).
	Issuer        string
	EnrollmentTTL time.Duration
	MaxAttempts   int
	Now           func() time.Time
}

// Service enrols and checks authenticator apps. It is safe for concurrent
// use.
type Service struct {
	cfg  Config
	aead cipher.AEAD
}

// New returns a Service, filling in defaults.
func New(cfg Config) (*Service, error) {
	if cfg.EnrollmentTTL == 0 {
		cfg.EnrollmentTTL = DefaultEnrollmentTTL
	}
	if cfg.MaxAttempts == 0 {
		cfg.MaxAttempts = DefaultMaxAttempts
	}
	if cfg.Issuer == "" {
		cfg.Issuer = "Sesame"
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	block, err := aes.NewCipher(cfg.Key)
	if err != nil {
		return nil, fmt.Errorf("totp key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("totp key: %w", err)
	}
	return &Service{cfg: cfg, aead: aead}, nil
}

var (
	errWrongCode    = sesame.Errorf(sesame.EInvalidCode, "That code is not right. Check the time on your device, then try the newest code.")
	errReplayed     = sesame.Errorf(sesame.EInvalidCode, "That code was already used. Wait for the next one.")
	errFormat       = sesame.Errorf(sesame.EBadRequest, "The code is 6 digits.")
	errEnrollExpire = sesame.Errorf(sesame.EExpired, "Setting up the app took too long, or too many codes were wrong. Start again.")
	errEnrollUsed   = sesame.Errorf(sesame.EUsed, "This setup is already finished.")
	errNoApp        = sesame.Errorf(sesame.EInvalidCode, "No authenticator app is set up for this account.")
)

// Enrollment is an authenticator app being set up: what the page shows
// once. Secret is base32, for typing in; URI is the otpauth:// key URI the
// QR code carries.
type Enrollment struct {
	ID        string
	Secret    string
	URI       string
	QRSVG     string
	ExpiresIn time.Duration
}

// Begin starts setting up an authenticator app for u: a fresh secret from
// crypto/rand, sealed and kept under a single-use enrolment id for
// EnrollmentTTL.
func (s *Service) Begin(ctx context.Context, u sesame.User) (Enrollment, error) {
	key, err := gototp.Generate(gototp.GenerateOpts{
		Issuer: s.cfg.Issuer, AccountName: u.Email, Period: uint(Period / time.Second),
		SecretSize: SecretSize, Digits: Digits, Algorithm: Algorithm, Rand: rand.Reader,
	})
	if err != nil {
		return Enrollment{}, fmt.Errorf("totp begin: %w", err)
	}
	svg, err := QRSVG(key.URL())
	if err != nil {
		return Enrollment{}, err
	}
	now, id := s.cfg.Now(), sesame.NewID()
	if err := s.cfg.Store.CreateTOTPEnrollment(ctx, id, u.ID, s.seal(u.ID, key.Secret()), now, now.Add(s.cfg.EnrollmentTTL)); err != nil {
		return Enrollment{}, fmt.Errorf("totp begin: %w", err)
	}
	return Enrollment{ID: id, Secret: key.Secret(), URI: key.URL(), QRSVG: svg, ExpiresIn: s.cfg.EnrollmentTTL}, nil
}

// Finish confirms userID's enrolment with a first code from the app and
// makes it the user's authenticator app (replacing an earlier one, which
// it reports). The code's step counts as used. An enrolment takes at most
// MaxAttempts codes and is spent by its first right one.
func (s *Service) Finish(ctx context.Context, userID, enrollmentID, code string) (replaced bool, err error) {
	if !validFormat(code) {
		return false, errFormat
	}
	if enrollmentID == "" {
		return false, sesame.Errorf(sesame.EBadRequest, "enrollment_id is required.")
	}
	now := s.cfg.Now()
	sealed, _, err := s.cfg.Store.CountTOTPEnrollmentAttempt(ctx, enrollmentID, userID, now, s.cfg.MaxAttempts)
	if errors.Is(err, sesame.ErrNotFound) {
		return false, s.whyNotLive(ctx, enrollmentID, userID)
	} else if err != nil {
		return false, fmt.Errorf("totp finish: %w", err)
	}
	secret, err := s.open(userID, sealed)
	if err != nil {
		return false, err
	}
	step, ok := s.match(secret, code, now)
	if !ok {
		return false, errWrongCode
	}
	replaced, err = s.cfg.Store.FinishTOTPEnrollment(ctx, enrollmentID, userID, step, now)
	if errors.Is(err, sesame.ErrNotFound) {
		return false, s.whyNotLive(ctx, enrollmentID, userID)
	} else if err != nil {
		return false, fmt.Errorf("totp finish: %w", err)
	}
	return replaced, nil
}

// whyNotLive explains an enrolment the conditional update did not match.
func (s *Service) whyNotLive(ctx context.Context, id, userID string) error {
	consumed, err := s.cfg.Store.TOTPEnrollmentState(ctx, id, userID)
	switch {
	case errors.Is(err, sesame.ErrNotFound):
		return errEnrollExpire
	case err != nil:
		return fmt.Errorf("totp finish: %w", err)
	case consumed:
		return errEnrollUsed
	}
	return errEnrollExpire
}

// Verify checks a code from userID's app and spends its step: a code is
// accepted once, and never one from a step at or before the last accepted.
// Wrong, replayed or missing: invalid_code.
func (s *Service) Verify(ctx context.Context, userID, code string) error {
	if !validFormat(code) {
		return errFormat
	}
	sealed, last, err := s.cfg.Store.TOTPSecret(ctx, userID)
	if errors.Is(err, sesame.ErrNotFound) {
		return errNoApp
	} else if err != nil {
		return fmt.Errorf("totp verify: %w", err)
	}
	secret, err := s.open(userID, sealed)
	if err != nil {
		return err
	}
	step, ok := s.match(secret, code, s.cfg.Now())
	switch {
	case !ok:
		return errWrongCode
	case step <= last:
		return errReplayed
	}
	if err := s.cfg.Store.UseTOTPStep(ctx, userID, step); errors.Is(err, sesame.ErrNotFound) {
		return errReplayed // the same code, or a later one, won just now
	} else if err != nil {
		return fmt.Errorf("totp verify: %w", err)
	}
	return nil
}

// Has reports whether userID has an authenticator app.
func (s *Service) Has(ctx context.Context, userID string) (bool, error) {
	return s.cfg.Store.HasTOTP(ctx, userID)
}

// Remove deletes userID's authenticator app and reports whether there was
// one.
func (s *Service) Remove(ctx context.Context, userID string) (bool, error) {
	return s.cfg.Store.DeleteTOTP(ctx, userID)
}

// match finds the step within Skew of now whose code is code, comparing
// every candidate in constant time.
func (s *Service) match(secret, code string, now time.Time) (int64, bool) {
	current := now.Unix() / int64(Period/time.Second)
	var found int64
	ok := false
	for step := current - Skew; step <= current+Skew; step++ {
		want, err := gototp.GenerateCodeCustom(secret, time.Unix(step*int64(Period/time.Second), 0), gototp.ValidateOpts{
			Period: uint(Period / time.Second), Digits: Digits, Algorithm: Algorithm,
		})
		if err == nil && subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 && !ok {
			found, ok = step, true
		}
	}
	return found, ok
}

// seal encrypts a base32 secret for userID: AES-256-GCM, a random nonce in
// front, the user id as additional data so a row cannot be moved to
// another user.
func (s *Service) seal(userID, secret string) []byte {
	nonce := sesame.RandomBytes(s.aead.NonceSize())
	return s.aead.Seal(nonce, nonce, []byte(secret), []byte("totp:"+userID))
}

func (s *Service) open(userID string, sealed []byte) (string, error) {
	n := s.aead.NonceSize()
	if len(sealed) < n+s.aead.Overhead() {
		return "", errors.New("totp secret: ciphertext too short")
	}
	secret, err := s.aead.Open(nil, sealed[:n], sealed[n:], []byte("totp:"+userID))
	if err != nil {
		// A wrong root secret, an altered row, or a row moved between users.
		return "", fmt.Errorf("totp secret: decrypt: %w", err)
	}
	return string(secret), nil
}

// CheckFormat answers bad_request unless code is six digits: a caller
// that counts guesses checks it first, so a typo costs no attempt.
func CheckFormat(code string) error {
	if !validFormat(code) {
		return errFormat
	}
	return nil
}

func validFormat(code string) bool {
	if len(code) != 6 {
		return false
	}
	for i := range len(code) {
		if code[i] < '0' || code[i] > '9' {
			return false
		}
	}
	return true
}
