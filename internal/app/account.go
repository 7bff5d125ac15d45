package app

import (
	"github.com/sesame-auth/sesame/password"
	"github.com/sesame-auth/sesame/recovery"
)

// recoveryTarpit is the password's tarpit, or nil when limits are off: one
// budget per address for every guess at a secret, password or recovery
// code.
func recoveryTarpit(t password.Tarpit) recovery.Tarpit {
	if t == nil {
		return nil
	}
	return t
}
