package token

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/sesame-auth/sesame"
)

const testIssuer = "https://sesame.example"

func newTestIssuer(t testing.TB, k *Keys, c *fakeClock, opts IssuerOptions) *Issuer {
	t.Helper()
	if opts.Issuer == "" {
		opts.Issuer = testIssuer
	}
	opts.Now = c.Now
	is, err := NewIssuer(k, opts)
	if err != nil {
		t.Fatalf("NewIssuer: %v", err)
	}
	return is
}

// setup returns an issuer on a fresh store with one key, and its clock.
func setup(t testing.TB) (*Issuer, *Keys, *fakeClock) {
	t.Helper()
	c := newClock()
	k := newTestKeys(t, &memStore{}, c, KeysOptions{})
	return newTestIssuer(t, k, c, IssuerOptions{}), k, c
}

// segment decodes part i (0 header, 1 claims) of a compact JWS.
func segment(t testing.TB, raw string, i int) map[string]any {
	t.Helper()
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		t.Fatalf("token %q: %d parts; want 3", raw, len(parts))
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[i])
	if err != nil {
		t.Fatalf("token part %d: %v", i, err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("token part %d %s: %v", i, b, err)
	}
	return m
}

func headerKID(t testing.TB, raw string) string {
	t.Helper()
	kid, _ := segment(t, raw, 0)["kid"].(string)
	return kid
}

// wantUnauthorized checks that err is the one generic token error.
func wantUnauthorized(t testing.TB, err error) {
	t.Helper()
	var e *sesame.Error
	if !errors.As(err, &e) || e.Code != sesame.EUnauthorized || e.Message != "Invalid or expired token." {
		t.Errorf("error = %v (code %q); want %s \"Invalid or expired token.\"", err, sesame.ErrorCode(err), sesame.EUnauthorized)
	}
	if errors.Unwrap(err) != nil {
		t.Errorf("error %v wraps %v; want nothing", err, errors.Unwrap(err))
	}
}

func sameAccessClaims(a, b AccessClaims) bool {
	return a.Subject == b.Subject && a.SessionID == b.SessionID && a.JTI == b.JTI &&
		a.IssuedAt.Equal(b.IssuedAt) && a.ExpiresAt.Equal(b.ExpiresAt) && a.AuthTime.Equal(b.AuthTime) &&
		slices.Equal(a.AMR, b.AMR)
}

func TestAccessRoundTrip(t *testing.T) {
	ctx := context.Background()
	is, k, c := setup(t)
	authTime := c.Now().Add(-90 * time.Second)
	amr := []string{"pwd", "otp", "mfa"}
	raw, got, err := is.Access(ctx, "user-1", "sess-1", authTime, amr)
	if err != nil {
		t.Fatal(err)
	}
	iat := c.Now().Truncate(time.Second)
	want := AccessClaims{
		Subject:   "user-1",
		SessionID: "sess-1",
		JTI:       got.JTI,
		IssuedAt:  iat,
		ExpiresAt: iat.Add(10 * time.Minute),
		AuthTime:  authTime.Truncate(time.Second),
		AMR:       amr,
	}
	if !sameAccessClaims(got, want) || len(got.JTI) != 22 {
		t.Errorf("Access claims = %+v; want %+v with a 22-character jti", got, want)
	}
	verified, err := is.VerifyAccess(ctx, raw)
	if err != nil {
		t.Fatalf("VerifyAccess: %v", err)
	}
	if !sameAccessClaims(verified, want) {
		t.Errorf("VerifyAccess = %+v; want %+v", verified, want)
	}
	amr[0] = "changed" // the caller's slice is not the claims'
	if got.AMR[0] != "pwd" {
		t.Error("Access kept the caller's amr slice")
	}

	h := segment(t, raw, 0)
	wantH := map[string]any{"alg": "ES256", "typ": "at+jwt", "kid": signerKID(t, k)}
	if !maps.Equal(h, wantH) {
		t.Errorf("header = %v; want %v", h, wantH)
	}
	p := segment(t, raw, 1)
	wantP := map[string]any{
		"iss": testIssuer, "sub": "user-1", "sid": "sess-1", "jti": got.JTI,
		"iat": float64(iat.Unix()), "exp": float64(iat.Unix() + 600),
		"auth_time": float64(authTime.Unix()),
	}
	for name, v := range wantP {
		if p[name] != v {
			t.Errorf("claim %s = %v; want %v", name, p[name], v)
		}
	}
	if aud, _ := p["aud"].([]any); len(aud) != 1 || aud[0] != testIssuer {
		t.Errorf("claim aud = %v; want [%s]", p["aud"], testIssuer)
	}
	if a, _ := p["amr"].([]any); len(a) != 3 || a[0] != "pwd" || a[1] != "otp" || a[2] != "mfa" {
		t.Errorf("claim amr = %v; want [pwd otp mfa]", p["amr"])
	}
	if len(p) != 9 {
		t.Errorf("claims = %v; want exactly iss sub aud exp iat jti sid auth_time amr", p)
	}

	other, claims2, err := is.Access(ctx, "user-1", "sess-1", authTime, amr)
	if err != nil {
		t.Fatal(err)
	}
	if other == raw || claims2.JTI == got.JTI {
		t.Error("two access tokens share a jti")
	}
}

func TestAccessRequiresItsFacts(t *testing.T) {
	ctx := context.Background()
	is, _, c := setup(t)
	for _, tc := range []struct {
		name, user, session string
		authTime            time.Time
	}{
		{"no user", "", "s", c.Now()},
		{"no session", "u", "", c.Now()},
		{"no auth time", "u", "s", time.Time{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if raw, _, err := is.Access(ctx, tc.user, tc.session, tc.authTime, nil); err == nil {
				t.Errorf("Access(%q, %q, %v) = %q; want an error", tc.user, tc.session, tc.authTime, raw)
			}
		})
	}
	if raw, _, _, err := is.MFA(ctx, ""); err == nil {
		t.Errorf("MFA(\"\") = %q; want an error", raw)
	}
}

func TestIssuerOptions(t *testing.T) {
	c := newClock()
	k := newTestKeys(t, &memStore{}, c, KeysOptions{})
	for _, tc := range []struct {
		name string
		opts IssuerOptions
		ok   bool
	}{
		{"defaults", IssuerOptions{Issuer: testIssuer}, true},
		{"own audience", IssuerOptions{Issuer: testIssuer, Audience: "api"}, true},
		{"15 minutes", IssuerOptions{Issuer: testIssuer, AccessTTL: 15 * time.Minute}, false}, // beyond the keys' 10
		{"no issuer", IssuerOptions{}, false},
		{"16 minutes", IssuerOptions{Issuer: testIssuer, AccessTTL: 16 * time.Minute}, false},
		{"negative", IssuerOptions{Issuer: testIssuer, AccessTTL: -time.Minute}, false},
		{"audience of mfa tokens", IssuerOptions{Issuer: testIssuer, Audience: testIssuer + "/mfa"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewIssuer(k, tc.opts)
			if (err == nil) != tc.ok {
				t.Errorf("NewIssuer(%+v) error = %v; want ok = %v", tc.opts, err, tc.ok)
			}
		})
	}
	k15 := newTestKeys(t, &memStore{}, c, KeysOptions{AccessTTL: 15 * time.Minute})
	if _, err := NewIssuer(k15, IssuerOptions{Issuer: testIssuer, AccessTTL: 15 * time.Minute}); err != nil {
		t.Errorf("15 minutes on keys for 15: %v", err)
	}
}

func TestAccessExpiry(t *testing.T) {
	ctx := context.Background()
	// The clock starts half a second into a second, and iat is truncated:
	// at issue+d the token is d+0.5s past its iat.
	for _, tc := range []struct {
		after time.Duration
		ok    bool
	}{
		{0, true},
		{10*time.Minute - time.Second, true},
		{10*time.Minute + 29*time.Second, true}, // within the 30 s leeway
		{10*time.Minute + 31*time.Second, false},
		{24 * time.Hour, false},
	} {
		t.Run(tc.after.String(), func(t *testing.T) {
			is, _, c := setup(t)
			raw, _, err := is.Access(ctx, "u", "s", c.Now(), []string{"hwk"})
			if err != nil {
				t.Fatal(err)
			}
			c.Advance(tc.after)
			_, err = is.VerifyAccess(ctx, raw)
			if tc.ok && err != nil {
				t.Errorf("VerifyAccess %v after issue: %v", tc.after, err)
			} else if !tc.ok {
				wantUnauthorized(t, err)
			}
		})
	}
}

// forge signs a token with any header and claims: nil header values
// delete the member.
func forge(t testing.TB, method jwt.SigningMethod, key any, header, claims map[string]any) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, jwt.MapClaims(claims))
	for name, v := range header {
		if v == nil {
			delete(tok.Header, name)
		} else {
			tok.Header[name] = v
		}
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatalf("forge: %v", err)
	}
	return s
}

// attacker is a P-256 key of someone else's, with its JWK.
func attacker(t testing.TB) (*ecdsa.PrivateKey, jsonWebKey) {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	jwk, err := publicJWK(&priv.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return priv, jwk
}

func TestVerifyAccessRejects(t *testing.T) {
	ctx := context.Background()
	is, k, c := setup(t)
	ours, err := k.signer(ctx)
	if err != nil {
		t.Fatal(err)
	}
	now := c.Now().Unix()
	valid := func() map[string]any {
		return map[string]any{
			"iss": testIssuer, "sub": "u", "aud": testIssuer, "exp": now + 600, "iat": now,
			"jti": "j", "sid": "s", "auth_time": now, "amr": []string{"hwk"},
		}
	}
	without := func(name string) map[string]any { m := valid(); delete(m, name); return m }
	with := func(name string, v any) map[string]any { m := valid(); m[name] = v; return m }
	hdr := func(kv ...any) map[string]any {
		h := map[string]any{"typ": "at+jwt", "kid": ours.kid}
		for i := 0; i < len(kv); i += 2 {
			h[kv[i].(string)] = kv[i+1]
		}
		return h
	}
	es := func(h, claims map[string]any) string { return forge(t, jwt.SigningMethodES256, ours.priv, h, claims) }

	// The forger itself makes tokens that pass, so each rejection below is
	// for the one thing changed.
	if _, err := is.VerifyAccess(ctx, es(hdr(), valid())); err != nil {
		t.Fatalf("a well-forged token fails: %v", err)
	}
	// An array audience holding ours is accepted too (RFC 7519 §4.1.3).
	if _, err := is.VerifyAccess(ctx, es(hdr(), with("aud", []string{"other", testIssuer}))); err != nil {
		t.Errorf("array aud: %v", err)
	}

	pubDER, err := x509.MarshalPKIXPublicKey(&ours.priv.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	pubRaw, _ := ours.priv.PublicKey.Bytes()
	jwks, _ := k.JWKS(ctx)
	evil, evilJWK := attacker(t)
	evilJWKMap := map[string]any{"kty": "EC", "crv": "P-256", "x": evilJWK.X, "y": evilJWK.Y}
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	mfa, _, _, err := is.MFA(ctx, "u")
	if err != nil {
		t.Fatal(err)
	}
	access, _, err := is.Access(ctx, "u", "s", c.Now(), nil)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(access, ".")
	otherPayload := base64.RawURLEncoding.EncodeToString([]byte(strings.Replace(string(mustDecode(t, parts[1])), `"sub":"u"`, `"sub":"admin"`, 1)))

	for _, tc := range []struct {
		name string
		raw  string
	}{
		{"alg none", forge(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, hdr(), valid())},
		{"alg none, signature kept", strings.Join([]string{b64JSON(t, map[string]any{"alg": "none", "typ": "at+jwt", "kid": ours.kid}), parts[1], parts[2]}, ".")},
		{"HS256 keyed with the public key PEM", forge(t, jwt.SigningMethodHS256, pubPEM, hdr(), valid())},
		{"HS256 keyed with the public key DER", forge(t, jwt.SigningMethodHS256, pubDER, hdr(), valid())},
		{"HS256 keyed with the public point", forge(t, jwt.SigningMethodHS256, pubRaw, hdr(), valid())},
		{"HS256 keyed with the JWKS", forge(t, jwt.SigningMethodHS256, jwks, hdr(), valid())},
		{"ES384", forge(t, jwt.SigningMethodES384, p384, hdr(), valid())},
		{"missing exp", es(hdr(), without("exp"))},
		{"missing iat", es(hdr(), without("iat"))},
		{"missing sub", es(hdr(), without("sub"))},
		{"missing jti", es(hdr(), without("jti"))},
		{"missing sid", es(hdr(), without("sid"))},
		{"missing auth_time", es(hdr(), without("auth_time"))},
		{"missing aud", es(hdr(), without("aud"))},
		{"missing iss", es(hdr(), without("iss"))},
		{"wrong aud", es(hdr(), with("aud", "https://other.example"))},
		{"mfa aud", es(hdr(), with("aud", testIssuer+"/mfa"))},
		{"wrong iss", es(hdr(), with("iss", "https://evil.example"))},
		{"exp not a number", es(hdr(), with("exp", "tomorrow"))},
		{"expired beyond leeway", es(hdr(), with("exp", now-31))},
		{"iat in the future beyond leeway", es(hdr(), with("iat", now+31))},
		{"nbf in the future beyond leeway", es(hdr(), with("nbf", now+31))},
		{"mfa token", mfa},
		{"typ JWT", es(hdr("typ", "JWT"), valid())},
		{"typ missing", es(hdr("typ", nil), valid())},
		{"typ mfa+jwt", es(hdr("typ", "mfa+jwt"), valid())},
		{"typ in capitals", es(hdr("typ", "AT+JWT"), valid())},
		{"typ not a string", es(hdr("typ", 1), valid())},
		{"crit header", es(hdr("crit", []string{"exp"}), valid())},
		{"unknown kid", es(hdr("kid", "not-ours"), valid())},
		{"kid missing", es(hdr("kid", nil), valid())},
		{"kid not a string", es(hdr("kid", 7), valid())},
		{"our kid, signed by another key", forge(t, jwt.SigningMethodES256, evil, hdr(), valid())},
		{"jwk header with the attacker's key and kid", forge(t, jwt.SigningMethodES256, evil, hdr("kid", evilJWK.KID, "jwk", evilJWKMap), valid())},
		{"jwk header with the attacker's key, our kid", forge(t, jwt.SigningMethodES256, evil, hdr("jwk", evilJWKMap), valid())},
		{"jwk header, no kid", forge(t, jwt.SigningMethodES256, evil, hdr("kid", nil, "jwk", evilJWKMap), valid())},
		{"jku header", forge(t, jwt.SigningMethodES256, evil, hdr("kid", evilJWK.KID, "jku", "https://evil.example/jwks.json"), valid())},
		{"jku header, our kid", forge(t, jwt.SigningMethodES256, evil, hdr("jku", "https://evil.example/jwks.json"), valid())},
		{"x5u header", forge(t, jwt.SigningMethodES256, evil, hdr("kid", evilJWK.KID, "x5u", "https://evil.example/cert.pem"), valid())},
		{"payload changed", parts[0] + "." + otherPayload + "." + parts[2]},
		{"signature changed", parts[0] + "." + parts[1] + "." + flipLast(parts[2])},
		{"signature cut", parts[0] + "." + parts[1] + "." + parts[2][:40]},
		{"signature removed", parts[0] + "." + parts[1] + "."},
		{"padded base64", parts[0] + "=." + parts[1] + "." + parts[2]},
		{"extra segment", access + ".e30"},
		{"1 MB token", strings.Repeat("A", 1<<20)},
		{"1 MB of dots", strings.Repeat(".", 1<<20)},
		{"1 MB valid-looking", parts[0] + "." + strings.Repeat("e30", 1<<20/3) + "." + parts[2]},
		{"empty", ""},
		{"spaces", "   "},
		{"Bearer prefix", "Bearer " + access},
		{"one dot", "."},
		{"two dots", ".."},
		{"a.b.c", "a.b.c"},
		{"not JSON", "bm90IGpzb24.bm90IGpzb24.bm90IGpzb24"},
		{"JSON array header", b64JSON(t, []int{1}) + "." + parts[1] + "." + parts[2]},
		{"NUL bytes", "\x00\x00.\x00.\x00"},
		{"unicode", "ey🔑.ey🔑.ey🔑"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			_, err := is.VerifyAccess(ctx, tc.raw)
			wantUnauthorized(t, err)
			if d := time.Since(start); len(tc.raw) > MaxTokenLength && d > 50*time.Millisecond {
				t.Errorf("rejecting %d bytes took %v; want it fast", len(tc.raw), d)
			}
		})
	}
}

func TestMaxTokenLength(t *testing.T) {
	ctx := context.Background()
	is, k, c := setup(t)
	ours, _ := k.signer(ctx)
	now := c.Now().Unix()
	mint := func(pad int) string {
		return forge(t, jwt.SigningMethodES256, ours.priv, map[string]any{"typ": "at+jwt", "kid": ours.kid}, map[string]any{
			"iss": testIssuer, "sub": "u", "aud": testIssuer, "exp": now + 600, "iat": now,
			"jti": "j", "sid": "s", "auth_time": now, "pad": strings.Repeat("x", pad),
		})
	}
	// The longest token within the limit verifies, the shortest above fails.
	var under, over string
	for pad := 5500; over == ""; pad++ {
		switch tok := mint(pad); {
		case len(tok) <= MaxTokenLength:
			under = tok
		default:
			over = tok
		}
	}
	if _, err := is.VerifyAccess(ctx, under); err != nil {
		t.Errorf("%d-byte token: %v", len(under), err)
	}
	_, err := is.VerifyAccess(ctx, over)
	wantUnauthorized(t, err)
	if len(under) < MaxTokenLength-3 || len(over) > MaxTokenLength+3 {
		t.Errorf("boundary tokens of %d and %d bytes; want them about %d", len(under), len(over), MaxTokenLength)
	}
}

func TestMFAToken(t *testing.T) {
	ctx := context.Background()
	is, k, c := setup(t)
	raw, jti, expiresIn, err := is.MFA(ctx, "user-1")
	if err != nil {
		t.Fatal(err)
	}
	if expiresIn != 5*time.Minute || len(jti) != 22 {
		t.Errorf("MFA expiresIn, jti = %v, %q; want 5m0s and a 22-character jti", expiresIn, jti)
	}
	got, err := is.VerifyMFA(ctx, raw)
	if err != nil {
		t.Fatalf("VerifyMFA: %v", err)
	}
	iat := c.Now().Truncate(time.Second)
	if got.Subject != "user-1" || got.JTI != jti || !got.ExpiresAt.Equal(iat.Add(5*time.Minute)) {
		t.Errorf("VerifyMFA = %+v; want user-1, %q, %v", got, jti, iat.Add(5*time.Minute))
	}
	h, p := segment(t, raw, 0), segment(t, raw, 1)
	if h["typ"] != "mfa+jwt" || h["alg"] != "ES256" || h["kid"] != signerKID(t, k) {
		t.Errorf("header = %v; want typ mfa+jwt, alg ES256, our kid", h)
	}
	if aud, _ := p["aud"].([]any); len(aud) != 1 || aud[0] != testIssuer+"/mfa" {
		t.Errorf("aud = %v; want [%s/mfa]", p["aud"], testIssuer)
	}
	if amr, _ := p["amr"].([]any); len(amr) != 1 || amr[0] != "pwd" {
		t.Errorf("amr = %v; want [pwd]", p["amr"])
	}
	if p["iss"] != testIssuer || p["sub"] != "user-1" || p["jti"] != jti {
		t.Errorf("claims = %v", p)
	}

	ours, _ := k.signer(ctx)
	now := c.Now().Unix()
	valid := func() map[string]any {
		return map[string]any{"iss": testIssuer, "sub": "u", "aud": testIssuer + "/mfa", "exp": now + 300, "iat": now, "jti": "j", "amr": []string{"pwd"}}
	}
	with := func(name string, v any) map[string]any { m := valid(); m[name] = v; return m }
	without := func(name string) map[string]any { m := valid(); delete(m, name); return m }
	hdr := map[string]any{"typ": "mfa+jwt", "kid": ours.kid}
	es := func(h, claims map[string]any) string { return forge(t, jwt.SigningMethodES256, ours.priv, h, claims) }
	if _, err := is.VerifyMFA(ctx, es(hdr, valid())); err != nil {
		t.Fatalf("a well-forged MFA token fails: %v", err)
	}
	access, _, err := is.Access(ctx, "u", "s", c.Now(), []string{"pwd"})
	if err != nil {
		t.Fatal(err)
	}
	evil, _ := attacker(t)
	for _, tc := range []struct {
		name string
		raw  string
	}{
		{"access token", access},
		{"typ at+jwt", es(map[string]any{"typ": "at+jwt", "kid": ours.kid}, valid())},
		{"typ JWT", es(map[string]any{"typ": "JWT", "kid": ours.kid}, valid())},
		{"access audience", es(hdr, with("aud", testIssuer))},
		{"missing amr", es(hdr, without("amr"))},
		{"amr not pwd", es(hdr, with("amr", []string{"hwk"}))},
		{"missing exp", es(hdr, without("exp"))},
		{"missing iat", es(hdr, without("iat"))},
		{"missing jti", es(hdr, without("jti"))},
		{"wrong iss", es(hdr, with("iss", "https://evil.example"))},
		{"alg none", forge(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, hdr, valid())},
		{"another key", forge(t, jwt.SigningMethodES256, evil, hdr, valid())},
		{"1 MB", strings.Repeat("A", 1<<20)},
		{"garbage", "x.y.z"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := is.VerifyMFA(ctx, tc.raw)
			wantUnauthorized(t, err)
		})
	}

	// And an MFA token is no access token, before or after it expires.
	_, err = is.VerifyAccess(ctx, raw)
	wantUnauthorized(t, err)
	c.Advance(5*time.Minute + 31*time.Second)
	_, err = is.VerifyMFA(ctx, raw)
	wantUnauthorized(t, err)
}

func TestConcurrentUseDuringRotation(t *testing.T) {
	ctx := context.Background()
	is, k, c := setup(t)
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for range 4 {
		wg.Go(func() {
			for range 50 {
				raw, _, err := is.Access(ctx, "u", "s", c.Now(), []string{"hwk"})
				if err == nil {
					_, err = is.VerifyAccess(ctx, raw)
				}
				if err == nil {
					_, err = k.JWKS(ctx)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Go(func() {
		for range 5 {
			if _, err := k.Rotate(ctx); err != nil {
				errs <- err
				return
			}
			c.Advance(20 * time.Second)
		}
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func BenchmarkIssueAccess(b *testing.B) {
	ctx := context.Background()
	is, _, c := setup(b)
	amr := []string{"hwk", "user"}
	for b.Loop() {
		if _, _, err := is.Access(ctx, "user-id-0123456789", "session-id-0123456789", c.Now(), amr); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyAccess(b *testing.B) {
	ctx := context.Background()
	is, _, c := setup(b)
	raw, _, err := is.Access(ctx, "user-id-0123456789", "session-id-0123456789", c.Now(), []string{"hwk", "user"})
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := is.VerifyAccess(ctx, raw); err != nil {
			b.Fatal(err)
		}
	}
}

func mustDecode(t testing.TB, s string) []byte {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func b64JSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// flipLast changes the next-to-last character of a base64url string (the
// last may carry padding bits only) to another.
func flipLast(s string) string {
	if s[len(s)-2] == 'A' {
		return s[:len(s)-2] + "B" + s[len(s)-1:]
	}
	return s[:len(s)-2] + "A" + s[len(s)-1:]
}
