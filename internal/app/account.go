package app

import (
	"net/url"
	"time"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/db"
	"github.com/sesame-auth/sesame/password"
	"github.com/sesame-auth/sesame/recovery"
	"github.com/sesame-auth/sesame/totp"
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

// totpConfig configures authenticator apps. The issuer the app shows is
// the public URL's host, so two installations are told apart.
func totpConfig(store *db.DB, secret sesame.RootSecret, publicURL string, now func() time.Time) totp.Config {
	issuer := "Sesame"
	if u, err := url.Parse(publicURL); err == nil && u.Hostname() != "" && u.Hostname() != "localhost" {
		issuer = "Sesame (" + u.Hostname() + ")"
	}
	return totp.Config{Store: store, Key: secret.Key(sesame.PurposeTOTPEncryption), Issuer: issuer, Now: now}
}
