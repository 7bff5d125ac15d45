// Package sesame holds the domain of the Sesame authentication server: its
// users, sessions and credentials, and the Error type whose stable codes the
// HTTP layer maps to RFC 9457 problems.
package sesame

import (
	"errors"
	"fmt"
	"time"
)

// Error codes. They are part of the public API (the "code" member of a
// problem response) and never change meaning.
const (
	EBadRequest         = "bad_request"
	EUnauthorized       = "unauthorized"
	EForbidden          = "forbidden"
	ENotFound           = "not_found"
	EConflict           = "conflict"
	EInvalidCode        = "invalid_code"
	EExpired            = "expired"
	EUsed               = "used"
	EInvalidCredentials = "invalid_credentials"
	ECeremonyFailed     = "ceremony_failed"
	ERateLimited        = "rate_limited"
	ETooLarge           = "too_large"
	EReauthRequired     = "reauth_required"
	EAccountDisabled    = "account_disabled"
	// EConsentRequired: the person has not approved this app for these
	// scopes (OpenID Connect accept).
	EConsentRequired = "consent_required"
	// EStepUpRequired: the app asks for a phishing-resistant sign-in
	// (acr_values phr or phrh) that the session's sign-in was not.
	EStepUpRequired = "step_up_required"
	// EOtherBrowser: an app's sign-in request is being completed by a
	// browser other than the one the app sent to Sesame.
	EOtherBrowser = "other_browser"
	// EAccountMismatch: the app named, by id_token_hint, another person
	// than the one signed in.
	EAccountMismatch = "account_mismatch"
	EUnavailable     = "unavailable"
	EInternal        = "internal"
)

// Error is an error a caller may be told about. Code is stable and machine
// readable; Message is safe to show to the client. Anything that is not an
// *Error is internal and is never shown.
type Error struct {
	Code    string
	Message string
	// Extra members of the problem response, such as attempts_left.
	Extra map[string]any
	// RetryAfter, when set, becomes the Retry-After header of a 429 or 503.
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	return fmt.Sprintf("sesame error: code=%s message=%s", e.Code, e.Message)
}

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, EInternal
// for any other non-nil error, and "" for nil.
func ErrorCode(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Code
	}
	return EInternal
}

// ErrorMessage returns the client-safe message of err, or a generic one for
// internal errors so that nothing internal leaks.
func ErrorMessage(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Message
	}
	return "Internal error."
}

// ErrNotFound is returned by stores when a row does not exist.
var ErrNotFound = &Error{Code: ENotFound, Message: "Not found."}

// ErrAccountDisabled is the one answer to a disabled account, whichever
// way it tries to sign in or use a session (User.Active).
var ErrAccountDisabled = &Error{Code: EAccountDisabled, Message: "This account is disabled."}

// ErrRefreshReused is returned when a refresh token that was already
// rotated comes back: its whole family has been revoked (RFC 9700 §4.14.2).
var ErrRefreshReused = &Error{Code: EUnauthorized, Message: "Your session has ended. Sign in again."}
