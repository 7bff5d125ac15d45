package sesame

import "time"

// AuditEvent is one security-relevant event: a sign-in, a failed one, a
// factor added or removed, a session ended, a refresh token replayed.
type AuditEvent struct {
	ID           string
	At           time.Time
	Event        string // "sign_in", "passkey_added", …
	Result       string // "success" or an error code
	Method       string // "email_code", "passkey", …; empty when not a sign-in
	UserID       string
	CredentialID string
	IP           string
	UserAgent    string
	Detail       string
}
