package limit

import "time"

// Per-IP limits of the account endpoints that take a guess without a
// session (SECURITY rules 34 and 54). Guesses per address are the password
// tarpit's.
var (
	RecoverySignInPerIP = Rule{"recovery-signin-ip", 30, time.Hour}
	MFACodePerIP        = Rule{"mfa-code-ip", 100, time.Hour}
	EmailChangePerUser  = Rule{"email-change-user", 5, time.Hour}
)
