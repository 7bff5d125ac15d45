package sesame

import (
	"crypto/hkdf"
	"crypto/sha256"
	"fmt"
)

// Key purposes derived from the root secret. Each purpose gets its own key,
// so that a key leaked or misused in one place reveals nothing of another.
const (
	PurposeCodeMAC        = "sesame/v1/email-code-mac"
	PurposeFakeSalt       = "sesame/v1/scram-fake-salt"
	PurposeFakeCredential = "sesame/v1/webauthn-fake-credential"
	// PurposeLoginChallenge keys the MAC of passkey sign-in tickets.
	PurposeLoginChallenge = "sesame/v1/webauthn-login-challenge"
	PurposeKeyEncryption  = "sesame/v1/signing-key-encryption"
	PurposeMailSeal       = "sesame/v1/mail-outbox-seal"
	// PurposeRecoveryCodeMAC keys the HMAC recovery codes are stored as.
	PurposeRecoveryCodeMAC = "sesame/v1/recovery-code-mac"
	// PurposeTOTPEncryption seals authenticator-app secrets at rest.
	PurposeTOTPEncryption = "sesame/v1/totp-secret-encryption"
	// PurposeOAuthRequestBinder keys the cookie that binds an app's
	// sign-in request to the browser that started it.
	PurposeOAuthRequestBinder = "sesame/v1/oauth-request-binder"
)

// RootSecret is the installation's root secret, from which every purpose key
// is derived with HKDF-SHA-256 (RFC 5869).
type RootSecret []byte

// MinRootSecretLength is the shortest root secret accepted, in bytes.
const MinRootSecretLength = 32

// Key returns the 32-byte key for purpose.
func (s RootSecret) Key(purpose string) []byte {
	k, err := hkdf.Key(sha256.New, s, nil, purpose, 32)
	if err != nil { // only for lengths beyond 255*32 bytes
		panic(fmt.Sprintf("hkdf: %v", err))
	}
	return k
}
