package token

import (
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"math/big"
	"time"

	"github.com/sesame-auth/sesame"
)

// AlgRS256 is the JWS algorithm of the installation's RSA key (RFC 7518
// §3.3), which signs only the ID tokens of OpenID Connect clients that ask
// for it: most relying parties accept RS256 by default, few ES256.
const AlgRS256 = "RS256"

// rsaBits is the RSA key size (SECURITY rule 46: 2048 bits or more).
const rsaBits = 2048

// generateRSAKey returns a new RS256 key sealed like the ES256 ones: the
// KID is its RFC 7638 thumbprint, the PKCS#8 DER is sealed with AES-256-GCM
// with the KID as additional data.
func generateRSAKey(aead cipher.AEAD, now time.Time) (sesame.SigningKey, error) {
	priv, err := rsa.GenerateKey(rand.Reader, rsaBits)
	if err != nil {
		return sesame.SigningKey{}, fmt.Errorf("generate RSA key: %w", err)
	}
	jwk := publicRSAJWK(&priv.PublicKey)
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return sesame.SigningKey{}, fmt.Errorf("marshal RSA key: %w", err)
	}
	nonce := sesame.RandomBytes(aead.NonceSize())
	return sesame.SigningKey{
		KID:        jwk.KID,
		Algorithm:  AlgRS256,
		PrivateKey: aead.Seal(nonce, nonce, der, []byte(jwk.KID)),
		CreatedAt:  now,
	}, nil
}

// openRSAKey decrypts and checks a stored RS256 key, as openKey does an
// ES256 one.
func openRSAKey(aead cipher.AEAD, sk sesame.SigningKey) (*rsa.PrivateKey, jsonWebKey, error) {
	fail := func(format string, args ...any) (*rsa.PrivateKey, jsonWebKey, error) {
		return nil, jsonWebKey{}, fmt.Errorf("signing key %q: "+format, append([]any{sk.KID}, args...)...)
	}
	parsed, err := openPKCS8(aead, sk)
	if err != nil {
		return fail("%w", err)
	}
	priv, ok := parsed.(*rsa.PrivateKey)
	if !ok || priv.N.BitLen() < rsaBits {
		return fail("not an RSA key of %d bits or more", rsaBits)
	}
	jwk := publicRSAJWK(&priv.PublicKey)
	if jwk.KID != sk.KID {
		return fail("kid is not the key's thumbprint")
	}
	return priv, jwk, nil
}

// publicRSAJWK returns pub as a JWK whose kid is its RFC 7638 thumbprint.
func publicRSAJWK(pub *rsa.PublicKey) jsonWebKey {
	b64 := base64.RawURLEncoding.EncodeToString
	n, e := b64(pub.N.Bytes()), b64(big.NewInt(int64(pub.E)).Bytes())
	sum := sha256.Sum256([]byte(`{"e":"` + e + `","kty":"RSA","n":"` + n + `"}`))
	return jsonWebKey{Kty: "RSA", N: n, E: e, KID: b64(sum[:]), Alg: AlgRS256, Use: "sig"}
}
