package sesame

import "time"

// Email flow purposes.
const (
	FlowSignIn = "signin" // a link and a code that sign in or sign up
	FlowMFA    = "mfa"    // a code that completes a password sign-in
)

// EmailFlow is an emailed one-time secret as stored: never the token or the
// code themselves, only SHA-256(token) and HMAC(code key, flow id ‖ code).
type EmailFlow struct {
	ID      string
	Purpose string
	Email   string
	// Subject binds a second-factor flow to what it completes (the
	// MFA-pending token's jti); for a sign-in flow it names who asked for
	// it ("from <IP>"). A new flow ends the older live ones of the same
	// purpose, address and subject.
	Subject    string
	TokenHash  []byte // nil for second-factor flows, which have no link
	CodeMAC    []byte
	Attempts   int
	Sends      int
	CreatedAt  time.Time
	ExpiresAt  time.Time
	ConsumedAt *time.Time
}
