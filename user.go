package sesame

import "time"

// User is an account. Email is stored normalised (see NormalizeEmail).
type User struct {
	ID    string
	Email string
	// Name is the display name the user chose; "" when none.
	Name string
	// WebAuthnHandle is the WebAuthn user handle: 32 random bytes that carry
	// no personal data (WebAuthn L3 §14.6.1).
	WebAuthnHandle []byte
	CreatedAt      time.Time
	DisabledAt     *time.Time
}

// Active reports whether u may sign in and use its sessions: the one rule
// every way in and every authenticated route applies (answering
// ErrAccountDisabled otherwise).
func (u User) Active() bool { return u.DisabledAt == nil }

// PriorSessions is what a new sign-in needs to know of the sessions its
// account already has.
type PriorSessions struct {
	// Any says the account has had a session; FromAgent, one from the
	// user agent signing in now. Ended sessions count until swept.
	Any, FromAgent bool
	// EndBefore, when not zero, is where the cap on live sessions falls
	// once the new one is added: the live sessions created before it end.
	EndBefore time.Time
}

// NewDevice says the sign-in comes from a device not seen before on an
// account that has signed in elsewhere.
func (p PriorSessions) NewDevice() bool { return p.Any && !p.FromAgent }

// Session is one sign-in: the family of refresh tokens that descends from
// it, and the facts access tokens carry about it.
type Session struct {
	ID         string
	UserID     string
	CreatedAt  time.Time
	LastUsedAt time.Time
	// ExpiresAt is the absolute end; rotation never moves it.
	ExpiresAt time.Time
	// AuthTime is when the user last proved a factor for this session.
	AuthTime  time.Time
	AMR       []string
	UserAgent string
	IP        string
	RevokedAt *time.Time
}

// Client describes who made a request, for sessions and audit records.
type Client struct {
	IP        string
	UserAgent string
}

// UserSummary is a user as an operator's list shows it.
type UserSummary struct {
	User User
	// LastSignIn is the last successful sign-in in the audit log; nil if
	// none is recorded.
	LastSignIn *time.Time
}

// AccountFacts is an account with what its page shows of its factors
// besides the passkeys.
type AccountFacts struct {
	User              User
	HasPassword       bool
	HasTOTP           bool
	RecoveryCodesLeft int
}
