// Package limit enforces rate limits and the password tarpit with counters
// kept in the database, so the limits hold across every instance sharing it
// (SECURITY rule 34).
package limit

import (
	"context"
	"fmt"
	"time"
)

// Store counts events in fixed windows; db.DB implements it.
type Store interface {
	Hit(ctx context.Context, key string, windowStart time.Time, window time.Duration) (int, error)
}

// Rule is a limit: at most Max events per Window for one subject.
type Rule struct {
	Name   string
	Max    int
	Window time.Duration
}

// The rules of SECURITY.md rule 34 and rule 18.
var (
	// The per-address limits count per (address, IP), with AddressFrom as
	// their subject, so that one IP cannot keep an address's owner from
	// getting a sign-in mail; the ceilings below count every IP
	// (SECURITY rule 56).
	EmailStartPerAddress15m = Rule{"email-start-address-15m", 3, 15 * time.Minute}
	EmailStartPerAddressDay = Rule{"email-start-address-day", 10, 24 * time.Hour}
	CodesPerAccountHour     = Rule{"codes-account", 10, time.Hour}
	// CodesPerAddressCeiling and EmailStartPerAddressCeiling count an
	// address's codes and sign-in starts from every IP: the bound on
	// guessing one address's codes (5 tries each: 150 an hour).
	CodesPerAddressCeiling      = Rule{"codes-address-ceiling", 30, time.Hour}
	EmailStartPerAddressCeiling = Rule{"email-start-address-ceiling", 100, 24 * time.Hour}
	EmailStartPerIP             = Rule{"email-start-ip", 60, time.Hour}
	// CodeVerifyPerIP is 300, not 30: an office behind one NAT address
	// signs in by code at 9:00. Guessing stays bounded by the 5 tries per
	// flow and the per-address limits on starting flows (docs/security.md).
	CodeVerifyPerIP    = Rule{"code-verify-ip", 300, time.Hour}
	PasswordLoginPerIP = Rule{"password-login-ip", 100, time.Hour}
	WebAuthnBeginPerIP = Rule{"webauthn-begin-ip", 60, time.Minute}

	// Every unauthenticated endpoint that writes has a per-IP limit, the
	// finish steps included, since each failure writes an audit row
	// (SECURITY rule 54).
	PasswordFinishPerIP = Rule{"password-finish-ip", 100, time.Hour}
	WebAuthnFinishPerIP = Rule{"webauthn-finish-ip", 60, time.Minute}
	MFASendPerIP        = Rule{"mfa-send-ip", 60, time.Hour}
	SessionPerIP        = Rule{"session-ip", 300, time.Minute}
	// OAuthPerIP covers the OpenID Connect endpoints that write without a
	// signed-in user: token, revoke, and the pages' deny and sign-out
	// calls. Generous: an app's backend calls the token endpoint for all
	// its users from one address.
	OAuthPerIP = Rule{"oauth-ip", 600, time.Minute}
	// BCAuthorizePerClient caps the approvals one app may ask for
	// (SECURITY rule 61); each may send a person a message.
	BCAuthorizePerClient = Rule{"bc-authorize-client", 60, time.Minute}
	// ApprovalMailsPerUserHour caps the approval emails one person gets:
	// an app asking for short-lived approvals one after another could
	// otherwise send 60 a minute. Past it the request is still made (the
	// answer must not tell people with an account from others) and waits
	// on the account page, without a mail.
	ApprovalMailsPerUserHour = Rule{"approval-mails-user", 20, time.Hour}

	// PasswordBeginPerAddress caps the password logins open for one
	// address: a login lives 60 s, so at most twice this many are open at
	// once (SECURITY rule 53). The tarpit, checked again at finish, is
	// what bounds the guesses.
	PasswordBeginPerAddress = Rule{"password-begin-address", 20, time.Minute}

	// NoticesPerUserHour caps the security notices one person gets
	// (SECURITY rule 57), whatever causes them.
	NoticesPerUserHour = Rule{"notices-user", 5, time.Hour}
)

// AddressFrom is the subject of a per-address limit counted per (address,
// IP) (SECURITY rule 56).
func AddressFrom(email, ip string) string { return email + " " + ip }

// Limiter checks rules. It is safe for concurrent use.
type Limiter struct {
	store Store
	now   func() time.Time
	// scale multiplies every Max; 0 switches limits off (load tests only).
	scale int
	// batch counts AllowBatched's events in memory; nil when the store
	// cannot take batches.
	batch *batcher
}

// New returns a Limiter. scale multiplies each rule's Max (1 for the
// numbers above); 0 turns every limit off.
func New(store Store, now func() time.Time, scale int) *Limiter {
	if now == nil {
		now = time.Now
	}
	l := &Limiter{store: store, now: now, scale: scale}
	if bs, ok := store.(BatchStore); ok {
		l.batch = &batcher{store: bs, keys: map[string]*local{}}
	}
	return l
}

// Allow counts one event of subject under rule and returns a rate_limited
// error, with Retry-After set to the end of the window, once the count
// goes over the limit.
func (l *Limiter) Allow(ctx context.Context, rule Rule, subject string) error {
	if l.scale == 0 {
		return nil
	}
	now := l.now()
	start := now.Truncate(rule.Window)
	n, err := l.store.Hit(ctx, rule.Name+":"+subject, start, rule.Window)
	if err != nil {
		return fmt.Errorf("rate limit %s: %w", rule.Name, err)
	}
	if n > rule.Max*l.scale {
		return limited(start.Add(rule.Window).Sub(now))
	}
	return nil
}
