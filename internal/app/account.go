package app

import (
	"time"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/db"
	"github.com/sesame-auth/sesame/password"
	"github.com/sesame-auth/sesame/recovery"
)

// recoveryConfig configures recovery codes. They share the password's
// tarpit: one budget per address for every guess at a secret it knows.
func recoveryConfig(store *db.DB, secret sesame.RootSecret, tarpit password.Tarpit, now func() time.Time) recovery.Config {
	cfg := recovery.Config{Store: store, Key: secret.Key(sesame.PurposeRecoveryCodeMAC), Now: now}
	if tarpit != nil {
		cfg.Tarpit = tarpit
	}
	return cfg
}
