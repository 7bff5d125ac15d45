package token

import (
	"context"
	"crypto"
	"errors"
	"fmt"

	"github.com/golang-jwt/jwt/v5"
)

// Sign signs claims as a JWT of type typ with the current key of alg
// (AlgES256 or AlgRS256), for the tokens Sesame issues to OpenID Connect
// clients.
func (k *Keys) Sign(ctx context.Context, alg, typ string, claims jwt.Claims) (string, error) {
	r, err := k.ring(ctx)
	if err != nil {
		return "", err
	}
	var t *jwt.Token
	var kid string
	var priv crypto.Signer
	switch {
	case alg == AlgES256 && r.signer != nil:
		t, kid, priv = jwt.NewWithClaims(jwt.SigningMethodES256, claims), r.signer.kid, r.signer.priv
	case alg == AlgRS256 && r.rsa != nil:
		t, kid, priv = jwt.NewWithClaims(jwt.SigningMethodRS256, claims), r.rsa.kid, r.rsa.rsa
	default:
		return "", fmt.Errorf("sign: no %s key", alg)
	}
	t.Header["typ"] = typ
	t.Header["kid"] = kid
	return t.SignedString(priv)
}

// PublicKey returns the public half of our published key kid and its
// algorithm, for verifying tokens Sesame issued to clients.
func (k *Keys) PublicKey(ctx context.Context, kid string) (crypto.PublicKey, string, error) {
	r, err := k.ring(ctx)
	if err != nil {
		return nil, "", err
	}
	kk := r.byKID[kid]
	if kk == nil || !k.published(kk.retiredAt, k.now()) {
		return nil, "", errors.New("unknown kid")
	}
	if kk.rsa != nil {
		return &kk.rsa.PublicKey, AlgRS256, nil
	}
	return &kk.priv.PublicKey, AlgES256, nil
}
