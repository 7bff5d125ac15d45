package sesame

import "time"

// SigningKey is a JWT signing key as stored: the private half is encrypted
// at rest (AES-GCM under the PurposeKeyEncryption key) and opaque to storage.
type SigningKey struct {
	// KID is the JWK thumbprint (RFC 7638) of the public key, base64url.
	KID       string
	Algorithm string // "ES256"
	// PrivateKey is the encrypted PKCS#8 private key.
	PrivateKey []byte
	CreatedAt  time.Time
	// RetiredAt is when the key stopped signing; its public half stays in the
	// JWKS until every token it signed has expired.
	RetiredAt *time.Time
}
