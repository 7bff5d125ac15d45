package token

import (
	"context"
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
)

// jsonWebKey is the public half of a key as published in the JWKS (RFC 7517
// §4, RFC 7518 §6.2.1), members in the order they are written.
type jsonWebKey struct {
	Kty string `json:"kty"`
	Crv string `json:"crv,omitempty"`
	X   string `json:"x,omitempty"`
	Y   string `json:"y,omitempty"`
	N   string `json:"n,omitempty"` // RSA modulus
	E   string `json:"e,omitempty"` // RSA exponent
	KID string `json:"kid"`
	Alg string `json:"alg"`
	Use string `json:"use"`
}

// publicJWK returns pub as a JWK whose kid is its RFC 7638 thumbprint:
// SHA-256 over the required members in lexicographic order, no spaces.
func publicJWK(pub *ecdsa.PublicKey) (jsonWebKey, error) {
	raw, err := pub.Bytes() // 0x04 || X || Y, each 32 bytes, left-padded
	if err != nil {
		return jsonWebKey{}, fmt.Errorf("encode public key: %w", err)
	} else if len(raw) != 65 {
		return jsonWebKey{}, fmt.Errorf("encode public key: %d bytes, not a P-256 point", len(raw))
	}
	b64 := base64.RawURLEncoding.EncodeToString
	x, y := b64(raw[1:33]), b64(raw[33:])
	// The members are base64url and constant strings: nothing to escape.
	sum := sha256.Sum256([]byte(`{"crv":"P-256","kty":"EC","x":"` + x + `","y":"` + y + `"}`))
	return jsonWebKey{Kty: "EC", Crv: "P-256", X: x, Y: y, KID: b64(sum[:]), Alg: AlgES256, Use: "sig"}, nil
}

// JWKS returns the RFC 7517 JSON Web Key Set of every key not retired and
// every key retired too recently for all its tokens to have expired.
func (k *Keys) JWKS(ctx context.Context) ([]byte, error) {
	r, err := k.ring(ctx)
	if err != nil {
		return nil, err
	}
	now := k.now()
	set := struct {
		Keys []jsonWebKey `json:"keys"`
	}{Keys: make([]jsonWebKey, 0, len(r.ordered))}
	for _, kk := range r.ordered {
		if k.published(kk.retiredAt, now) {
			set.Keys = append(set.Keys, kk.jwk)
		}
	}
	return json.Marshal(set)
}
