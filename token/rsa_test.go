package token

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/sesame-auth/sesame"
)

// TestRSAKey is rule 46's key: with KeysOptions.RSA, Ensure adds one
// RSA-2048 key sealed at rest, the JWKS publishes it (after the ES256
// keys) with kid, alg RS256 and use sig, Sign makes RS256 tokens that its
// public half verifies, Rotate replaces both keys while the old ones stay
// published, and Sesame's own token checks never take an RSA key.
func TestRSAKey(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	store := &memStore{}
	k := newTestKeys(t, store, c, KeysOptions{RSA: true})
	var rsaRow sesame.SigningKey
	for _, row := range store.keys {
		if row.Algorithm == AlgRS256 {
			rsaRow = row
		}
	}
	if len(store.keys) != 2 || rsaRow.KID == "" {
		t.Fatalf("stored %d keys, RSA %q; want an ES256 and an RS256 key", len(store.keys), rsaRow.KID)
	}
	priv, jwk, err := openRSAKey(k.aead, rsaRow)
	if err != nil || priv.N.BitLen() < 2048 || jwk.KID != rsaRow.KID {
		t.Fatalf("RSA key opens to %d bits, kid %q (%v)", priv.N.BitLen(), jwk.KID, err)
	}
	tampered := rsaRow
	tampered.PrivateKey = append([]byte{}, rsaRow.PrivateKey...)
	tampered.PrivateKey[30] ^= 1
	if _, _, err := openRSAKey(k.aead, tampered); err == nil {
		t.Fatal("a tampered RSA key opened")
	}

	var set struct {
		Keys []map[string]string `json:"keys"`
	}
	raw, err := k.JWKS(ctx)
	if err != nil || json.Unmarshal(raw, &set) != nil || len(set.Keys) != 2 {
		t.Fatalf("JWKS = %s (%v)", raw, err)
	}
	if set.Keys[0]["kty"] != "EC" || set.Keys[1]["kty"] != "RSA" || set.Keys[1]["alg"] != "RS256" ||
		set.Keys[1]["use"] != "sig" || set.Keys[1]["n"] == "" || set.Keys[1]["e"] != "AQAB" || set.Keys[1]["kid"] != rsaRow.KID {
		t.Fatalf("JWKS keys = %v", set.Keys)
	}

	signed, err := k.Sign(ctx, AlgRS256, "JWT", jwt.MapClaims{"sub": "u"})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.Parse(signed, func(tk *jwt.Token) (any, error) {
		pub, alg, err := k.PublicKey(ctx, tk.Header["kid"].(string))
		if alg != AlgRS256 {
			t.Errorf("PublicKey alg = %q", alg)
		}
		return pub, err
	}, jwt.WithValidMethods([]string{"RS256"}))
	if err != nil || tok.Header["kid"] != rsaRow.KID {
		t.Fatalf("RS256 token does not verify: %v", err)
	}
	// Sesame's own verifier knows only ES256 keys.
	if _, err := k.verifier(ctx, rsaRow.KID); err == nil {
		t.Fatal("the access-token verifier took the RSA key")
	}

	c.Advance(time.Hour)
	if _, err := k.Rotate(ctx); err != nil {
		t.Fatal(err)
	}
	live, retired := 0, 0
	for _, row := range store.keys {
		if row.RetiredAt == nil {
			live++
		} else {
			retired++
		}
	}
	if live != 2 || retired != 2 {
		t.Fatalf("after rotation %d live, %d retired; want 2 and 2", live, retired)
	}
	if kids := jwksKIDs(t, k); len(kids) != 4 {
		t.Fatalf("after rotation the JWKS has %d keys; want the 2 new and the 2 retired", len(kids))
	}
	signed2, _ := k.Sign(ctx, AlgRS256, "JWT", jwt.MapClaims{"sub": "u"})
	if kidOfRaw(t, signed2) == rsaRow.KID {
		t.Fatal("the retired RSA key still signs")
	}
	// A second Ensure adds nothing.
	if err := k.Ensure(ctx); err != nil || len(store.keys) != 4 {
		t.Fatalf("Ensure after rotation: %d keys (%v)", len(store.keys), err)
	}
}

func kidOfRaw(t *testing.T, raw string) string {
	t.Helper()
	tok, _, err := jwt.NewParser().ParseUnverified(raw, jwt.MapClaims{})
	if err != nil {
		t.Fatal(err)
	}
	kid, _ := tok.Header["kid"].(string)
	return kid
}
