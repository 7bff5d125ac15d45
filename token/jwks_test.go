package token

import (
	"context"
	"crypto"
	"encoding/base64"
	"encoding/json"
	"slices"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	josejwt "github.com/go-jose/go-jose/v4/jwt"
)

// parseJWKS returns k's JWKS as plain maps, failing on any member beyond
// those RFC 7517 and RFC 7518 §6.2.1 name for a public EC key.
func parseJWKS(t testing.TB, k *Keys) []map[string]string {
	t.Helper()
	raw, err := k.JWKS(context.Background())
	if err != nil {
		t.Fatalf("JWKS: %v", err)
	}
	var set map[string][]map[string]string
	if err := json.Unmarshal(raw, &set); err != nil {
		t.Fatalf("JWKS %s: %v", raw, err)
	}
	if len(set) != 1 || set["keys"] == nil {
		t.Fatalf("JWKS %s: want exactly a keys member", raw)
	}
	return set["keys"]
}

func TestJWKSShape(t *testing.T) {
	store, c := &memStore{}, newClock()
	k := newTestKeys(t, store, c, KeysOptions{})
	keys := parseJWKS(t, k)
	if len(keys) != 1 {
		t.Fatalf("JWKS has %d keys; want 1", len(keys))
	}
	m := keys[0]
	want := map[string]string{"kty": "EC", "crv": "P-256", "kid": signerKID(t, k), "alg": "ES256", "use": "sig"}
	for name, v := range want {
		if m[name] != v {
			t.Errorf("JWKS %s = %q; want %q", name, m[name], v)
		}
	}
	for _, name := range []string{"x", "y"} {
		b, err := base64.RawURLEncoding.DecodeString(m[name])
		if err != nil || len(b) != 32 {
			t.Errorf("JWKS %s = %q: want 32 bytes base64url (%v)", name, m[name], err)
		}
	}
	if len(m) != 7 {
		t.Errorf("JWKS key has members %v; want exactly kty crv x y kid alg use", m)
	}
	if _, ok := m["d"]; ok {
		t.Fatal("JWKS publishes the private key")
	}
}

// TestJOSELibraryVerifiesFromJWKS checks API.md's promise: any standard
// JOSE library verifies an access token from the JWKS alone.
func TestJOSELibraryVerifiesFromJWKS(t *testing.T) {
	ctx := context.Background()
	store, c := &memStore{}, newClock()
	k := newTestKeys(t, store, c, KeysOptions{})
	const iss, aud = "https://id.example.com", "https://app.example.com"
	is := newTestIssuer(t, k, c, IssuerOptions{Issuer: iss, Audience: aud})
	// Two keys published, to see that the kid picks the right one.
	if _, err := k.Rotate(ctx); err != nil {
		t.Fatal(err)
	}
	raw, claims, err := is.Access(ctx, "user-1", "sess-1", c.Now().Add(-time.Minute), []string{"swk", "user"})
	if err != nil {
		t.Fatal(err)
	}
	jwks, err := k.JWKS(ctx)
	if err != nil {
		t.Fatal(err)
	}

	var set jose.JSONWebKeySet
	if err := json.Unmarshal(jwks, &set); err != nil {
		t.Fatalf("go-jose cannot read the JWKS: %v", err)
	}
	if len(set.Keys) != 2 {
		t.Fatalf("go-jose read %d keys; want 2", len(set.Keys))
	}
	for _, key := range set.Keys {
		tp, err := key.Thumbprint(crypto.SHA256)
		if err != nil {
			t.Fatal(err)
		}
		if got := base64.RawURLEncoding.EncodeToString(tp); got != key.KeyID {
			t.Errorf("kid %q is not the RFC 7638 thumbprint %q", key.KeyID, got)
		}
	}

	tok, err := josejwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatalf("go-jose ParseSigned: %v", err)
	}
	h := tok.Headers[0]
	if got := h.ExtraHeaders[jose.HeaderType]; got != "at+jwt" {
		t.Errorf("typ = %v; want at+jwt", got)
	}
	found := set.Key(h.KeyID)
	if len(found) != 1 {
		t.Fatalf("kid %q: %d keys in the JWKS; want 1", h.KeyID, len(found))
	}
	var std josejwt.Claims
	var extra struct {
		SID      string   `json:"sid"`
		AuthTime int64    `json:"auth_time"`
		AMR      []string `json:"amr"`
	}
	if err := tok.Claims(found[0].Key, &std, &extra); err != nil {
		t.Fatalf("go-jose signature check: %v", err)
	}
	if err := std.ValidateWithLeeway(josejwt.Expected{
		Issuer:      iss,
		Subject:     "user-1",
		AnyAudience: josejwt.Audience{aud},
		ID:          claims.JTI,
		Time:        c.Now(),
	}, 0); err != nil {
		t.Errorf("go-jose claim check: %v", err)
	}
	if extra.SID != "sess-1" || extra.AuthTime != claims.AuthTime.Unix() || !slices.Equal(extra.AMR, []string{"swk", "user"}) {
		t.Errorf("go-jose read sid, auth_time, amr = %+v; want sess-1, %d, [swk user]", extra, claims.AuthTime.Unix())
	}
	// The other key must not verify it.
	for _, key := range set.Keys {
		if key.KeyID != h.KeyID {
			if err := tok.Claims(key.Key, &std); err == nil {
				t.Error("the token verifies under the other key too")
			}
		}
	}
}
