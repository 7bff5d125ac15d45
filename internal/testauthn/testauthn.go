// Package testauthn drives Sesame's passkey endpoints in tests: Register,
// SignIn and SignUp run whole ceremonies through a testserver.Env with a
// virtual authenticator (internal/virtualauthn), whose types it re-exports
// so that tests need one import.
//
// It links the server, both databases and package testing: only tests
// import it. The load tool imports internal/virtualauthn alone.
package testauthn

import "github.com/sesame-auth/sesame/internal/virtualauthn"

// The authenticator and its parts, from internal/virtualauthn.
type (
	Authenticator = virtualauthn.Authenticator
	Options       = virtualauthn.Options
	Credential    = virtualauthn.Credential
)

// New returns a virtual authenticator for the site at origin.
func New(origin string) *Authenticator { return virtualauthn.New(origin) }

// The authenticator's refusals.
var (
	ErrExcluded     = virtualauthn.ErrExcluded
	ErrNoCredential = virtualauthn.ErrNoCredential
)
