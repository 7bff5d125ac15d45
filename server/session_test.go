package server_test

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/sesame-auth/sesame/internal/testserver"
	"github.com/sesame-auth/sesame/token"
)

func refresh(e *testserver.Env, t *testing.T, token string) testserver.Response {
	t.Helper()
	return e.Do(t, "POST", "/api/session/refresh", nil, testserver.Cookie("sesame_refresh", token))
}

func TestRefreshRotation(t *testing.T) {
	e := testserver.New(t, testserver.Options{})
	s1 := e.SignIn(t, "alice@example.com")
	e.Clock.Advance(time.Minute)
	r := refresh(e, t, s1.Refresh)
	s2 := testserver.SessionOf(t, r)
	if s2.Refresh == s1.Refresh || s2.Access == s1.Access || s2.UserID != s1.UserID {
		t.Fatalf("refresh did not rotate: %+v -> %+v", s1, s2)
	}
	for _, attr := range []string{"HttpOnly", "SameSite=Strict", "Path=/api/session"} {
		if sc := r.Header.Get("Set-Cookie"); !strings.Contains(strings.ToLower(sc), strings.ToLower(attr)) {
			t.Errorf("Set-Cookie %q lacks %s", sc, attr)
		}
	}
	// Replaying the superseded token revokes the family: R2 dies too.
	assertProblem(t, refresh(e, t, s1.Refresh), http.StatusUnauthorized, "unauthorized")
	assertProblem(t, refresh(e, t, s2.Refresh), http.StatusUnauthorized, "unauthorized")
}

func TestConcurrentRefreshLeavesAtMostOneLiveSuccessor(t *testing.T) {
	e := testserver.New(t, testserver.Options{})
	s := e.SignIn(t, "race@example.com")
	var mu sync.Mutex
	var successors []string
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if r := refresh(e, t, s.Refresh); r.Status == http.StatusOK {
				mu.Lock()
				successors = append(successors, r.Cookie("sesame_refresh"))
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	// One of the two wins; the loser presented a spent token.
	if len(successors) != 1 {
		t.Fatalf("%d of two concurrent refreshes succeeded; want exactly 1", len(successors))
	}
	live := 0
	for _, next := range successors {
		if refresh(e, t, next).Status == http.StatusOK {
			live++
		}
	}
	if live > 1 {
		t.Fatalf("%d live successors after two concurrent refreshes; want at most 1", live)
	}
}

func TestLogoutStopsRefresh(t *testing.T) {
	e := testserver.New(t, testserver.Options{})
	t.Run("by cookie", func(t *testing.T) {
		s := e.SignIn(t, "a@example.com")
		r := e.Do(t, "POST", "/api/session/logout", nil, testserver.Cookie("sesame_refresh", s.Refresh))
		if r.Status != http.StatusNoContent {
			t.Fatalf("logout = %d %s", r.Status, r.Body)
		}
		assertProblem(t, refresh(e, t, s.Refresh), http.StatusUnauthorized, "unauthorized")
	})
	t.Run("by bearer", func(t *testing.T) {
		s := e.SignIn(t, "b@example.com")
		if r := e.Do(t, "POST", "/api/session/logout", nil, testserver.Bearer(s.Access)); r.Status != http.StatusNoContent {
			t.Fatalf("logout = %d %s", r.Status, r.Body)
		}
		assertProblem(t, refresh(e, t, s.Refresh), http.StatusUnauthorized, "unauthorized")
	})
	t.Run("everywhere", func(t *testing.T) {
		s1, s2 := e.SignIn(t, "c@example.com"), e.SignIn(t, "c@example.com")
		if r := e.Do(t, "POST", "/api/session/logout-all", nil, testserver.Bearer(s1.Access)); r.Status != http.StatusNoContent {
			t.Fatalf("logout-all = %d %s", r.Status, r.Body)
		}
		assertProblem(t, refresh(e, t, s1.Refresh), http.StatusUnauthorized, "unauthorized")
		assertProblem(t, refresh(e, t, s2.Refresh), http.StatusUnauthorized, "unauthorized")
	})
	t.Run("one session from the list", func(t *testing.T) {
		s1, s2 := e.SignIn(t, "d@example.com"), e.SignIn(t, "d@example.com")
		var list []map[string]any
		r := e.Do(t, "GET", "/api/me/sessions", nil, testserver.Bearer(s1.Access))
		if err := json.Unmarshal(r.Body, &list); err != nil || len(list) != 2 {
			t.Fatalf("GET /api/me/sessions = %s; want 2 sessions", r.Body)
		}
		var other string
		for _, s := range list {
			if s["current"] == false {
				other, _ = s["id"].(string)
			}
		}
		if r := e.Do(t, "DELETE", "/api/me/sessions/"+other, nil, testserver.Bearer(s1.Access)); r.Status != http.StatusNoContent {
			t.Fatalf("DELETE session = %d %s", r.Status, r.Body)
		}
		assertProblem(t, refresh(e, t, s2.Refresh), http.StatusUnauthorized, "unauthorized")
		testserver.SessionOf(t, refresh(e, t, s1.Refresh))
		// Someone else's session is not found.
		s3 := e.SignIn(t, "mallory@example.com")
		assertProblem(t, e.Do(t, "DELETE", "/api/me/sessions/"+other, nil, testserver.Bearer(s3.Access)), http.StatusNotFound, "not_found")
	})
}

func TestSessionAbsoluteAndIdleLimits(t *testing.T) {
	e := testserver.New(t, testserver.Options{})
	s := e.SignIn(t, "idle@example.com")
	e.Clock.Advance(7*24*time.Hour + time.Minute)
	assertProblem(t, refresh(e, t, s.Refresh), http.StatusUnauthorized, "unauthorized")

	s = e.SignIn(t, "busy@example.com")
	for range 31 { // refreshed daily, the session still ends 30 days after sign-in
		e.Clock.Advance(24 * time.Hour)
		r := refresh(e, t, s.Refresh)
		if r.Status != http.StatusOK {
			assertProblem(t, r, http.StatusUnauthorized, "unauthorized")
			return
		}
		s.Refresh = r.Cookie("sesame_refresh")
	}
	t.Fatal("a session refreshed daily outlived its 30-day limit")
}

// TestForgedAccessTokens sends tokens a careless verifier would accept.
func TestForgedAccessTokens(t *testing.T) {
	e := testserver.New(t, testserver.Options{})
	s := e.SignIn(t, "alice@example.com")
	var good jwt.MapClaims
	if _, _, err := jwt.NewParser().ParseUnverified(s.Access, &good); err != nil {
		t.Fatal(err)
	}
	pub := jwksKey(t, e)
	pubDER, _ := x509.MarshalPKIXPublicKey(pub)
	kid := kidOf(t, s.Access)
	attacker, _ := ecdsa.GenerateKey(elliptic.P256(), nil)

	with := func(change func(jwt.MapClaims)) jwt.MapClaims {
		c := jwt.MapClaims{}
		for k, v := range good {
			c[k] = v
		}
		change(c)
		return c
	}
	sign := func(m jwt.SigningMethod, key any, claims jwt.MapClaims, hdr map[string]any) string {
		tok := jwt.NewWithClaims(m, claims)
		tok.Header["kid"], tok.Header["typ"] = kid, "at+jwt"
		for k, v := range hdr {
			tok.Header[k] = v
		}
		out, err := tok.SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	none := func() string {
		h, _ := json.Marshal(map[string]any{"alg": "none", "typ": "at+jwt", "kid": kid})
		b, _ := json.Marshal(good)
		return base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(b) + "."
	}
	mfa, _, _, err := e.App.Issuer.MFA(context.Background(), s.UserID)
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]string{
		"alg none":                    none(),
		"HS256 keyed with public key": sign(jwt.SigningMethodHS256, pubDER, good, nil),
		"missing exp":                 sign(jwt.SigningMethodES256, attacker, with(func(c jwt.MapClaims) { delete(c, "exp") }), map[string]any{"jwk": map[string]any{}}),
		"attacker key in jwk header":  sign(jwt.SigningMethodES256, attacker, good, map[string]any{"jwk": jwkOf(&attacker.PublicKey)}),
		"wrong signature":             s.Access[:len(s.Access)-4] + "AAAA",
		"mfa token":                   mfa,
		"9 KiB token":                 s.Access + strings.Repeat("A", 9<<10),
		"garbage":                     "not.a.token",
	}
	for name, tok := range cases {
		t.Run(name, func(t *testing.T) {
			assertProblem(t, e.Do(t, "GET", "/api/me", nil, testserver.Bearer(tok)), http.StatusUnauthorized, "unauthorized")
		})
	}
	// Signed with Sesame's own key, so that each fails on the one thing it
	// names and not on the signature; the unchanged claims pass.
	ours := func(typ string, claims jwt.MapClaims) string {
		tok, err := e.App.Keys.Sign(context.Background(), token.AlgES256, typ, claims)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	if r := e.Do(t, "GET", "/api/me", nil, testserver.Bearer(ours("at+jwt", good))); r.Status != http.StatusOK {
		t.Fatalf("our key, unchanged claims: %d %s; want 200", r.Status, r.Body)
	}
	padded := with(func(c jwt.MapClaims) { c["pad"] = strings.Repeat("A", 8<<10) })
	for name, tok := range map[string]string{
		"our key, missing exp":    ours("at+jwt", with(func(c jwt.MapClaims) { delete(c, "exp") })),
		"our key, missing iat":    ours("at+jwt", with(func(c jwt.MapClaims) { delete(c, "iat") })),
		"our key, wrong audience": ours("at+jwt", with(func(c jwt.MapClaims) { c["aud"] = []string{"https://other.example"} })),
		"our key, wrong issuer":   ours("at+jwt", with(func(c jwt.MapClaims) { c["iss"] = "https://other.example" })),
		"our key, typ JWT":        ours("JWT", good),
		"our key, over 8 KiB":     ours("at+jwt", padded),
	} {
		t.Run(name, func(t *testing.T) {
			assertProblem(t, e.Do(t, "GET", "/api/me", nil, testserver.Bearer(tok)), http.StatusUnauthorized, "unauthorized")
		})
	}
	t.Run("expired", func(t *testing.T) {
		e.Clock.Advance(10*time.Minute + 31*time.Second)
		assertProblem(t, e.Do(t, "GET", "/api/me", nil, testserver.Bearer(s.Access)), http.StatusUnauthorized, "unauthorized")
	})
}

// TestHugeTokenOverTheWire sends a 1 MB token over a real socket: the
// header cap (16 KiB) refuses it with a too_large problem before anything
// parses it. The server may close the socket while the client still
// writes, which the client sees as a reset: refused too, and never a 5xx.
func TestHugeTokenOverTheWire(t *testing.T) {
	e := testserver.New(t, testserver.Options{Listen: true})
	// Just over the header cap, written whole before the server answers:
	// a too_large problem, exactly.
	conn, err := net.Dial("tcp", strings.TrimPrefix(e.BaseURL, "http://localhost"))
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(conn, "GET /api/me HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer %s\r\n\r\n", strings.Repeat("A", 17<<10))
	status, err := bufio.NewReader(conn).ReadString('\n')
	conn.Close()
	if err != nil || !strings.HasPrefix(status, "HTTP/1.1 413 ") {
		t.Fatalf("17 KiB token: status line %q, %v; want 413", status, err)
	}

	req, _ := http.NewRequest("GET", e.BaseURL+"/api/me", nil)
	req.Header.Set("Authorization", "Bearer "+strings.Repeat("A", 1<<20))
	res, err := http.DefaultClient.Do(req)
	switch {
	case err != nil && (strings.Contains(err.Error(), "connection reset") || strings.Contains(err.Error(), "broken pipe")):
		// Closed while the client still wrote: refused.
	case err != nil:
		t.Fatal(err)
	default:
		res.Body.Close()
		if res.StatusCode != http.StatusRequestEntityTooLarge || res.Header.Get("Content-Type") != "application/problem+json" {
			t.Fatalf("1 MB token: %d %s; want 413 too_large problem+json", res.StatusCode, res.Header.Get("Content-Type"))
		}
	}
	// Either way the server answers the next client as usual.
	res, err = http.Get(e.BaseURL + "/healthz")
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("healthz after the huge token: %v %v", res, err)
	}
	res.Body.Close()
}

func TestWrongAudienceRejected(t *testing.T) {
	a := testserver.New(t, testserver.Options{})
	s := a.SignIn(t, "alice@example.com")
	// Another installation (its own keys and audience) must refuse it.
	b := testserver.New(t, testserver.Options{})
	assertProblem(t, b.Do(t, "GET", "/api/me", nil, testserver.Bearer(s.Access)), http.StatusUnauthorized, "unauthorized")
}

func jwksKey(t *testing.T, e *testserver.Env) *ecdsa.PublicKey {
	t.Helper()
	var set struct {
		Keys []struct{ X, Y string } `json:"keys"`
	}
	if err := json.Unmarshal(e.Do(t, "GET", "/.well-known/jwks.json", nil).Body, &set); err != nil || len(set.Keys) == 0 {
		t.Fatalf("jwks: %v", err)
	}
	x, _ := base64.RawURLEncoding.DecodeString(set.Keys[0].X)
	y, _ := base64.RawURLEncoding.DecodeString(set.Keys[0].Y)
	return &ecdsa.PublicKey{Curve: elliptic.P256(), X: new(big.Int).SetBytes(x), Y: new(big.Int).SetBytes(y)}
}

func jwkOf(k *ecdsa.PublicKey) map[string]any {
	return map[string]any{"kty": "EC", "crv": "P-256",
		"x": base64.RawURLEncoding.EncodeToString(k.X.FillBytes(make([]byte, 32))),
		"y": base64.RawURLEncoding.EncodeToString(k.Y.FillBytes(make([]byte, 32)))}
}

func kidOf(t *testing.T, raw string) string {
	t.Helper()
	tok, _, err := jwt.NewParser().ParseUnverified(raw, jwt.MapClaims{})
	if err != nil {
		t.Fatal(err)
	}
	kid, _ := tok.Header["kid"].(string)
	return kid
}

// TestAccessTokenVerifiesFromJWKS checks the token as another application
// would: from the JWKS alone, with a standard JOSE library.
func TestAccessTokenVerifiesFromJWKS(t *testing.T) {
	e := testserver.New(t, testserver.Options{})
	s := e.SignIn(t, "alice@example.com")
	pub := jwksKey(t, e)
	tok, err := jwt.Parse(s.Access, func(*jwt.Token) (any, error) { return pub, nil },
		jwt.WithValidMethods([]string{"ES256"}), jwt.WithIssuer(e.PublicURL), jwt.WithAudience(e.PublicURL),
		jwt.WithTimeFunc(e.Clock.Now), jwt.WithExpirationRequired())
	if err != nil {
		t.Fatalf("verify from JWKS: %v", err)
	}
	c := tok.Claims.(jwt.MapClaims)
	if c["sub"] != s.UserID || c["sid"] == nil || c["auth_time"] == nil || c["jti"] == nil || tok.Header["typ"] != "at+jwt" {
		t.Fatalf("claims %v header %v", c, tok.Header)
	}
	exp, _ := c.GetExpirationTime()
	iat, _ := c.GetIssuedAt()
	if d := exp.Sub(iat.Time); d != 10*time.Minute {
		t.Errorf("lifetime %v; want 10m", d)
	}
	oidc := e.Do(t, "GET", "/.well-known/openid-configuration", nil).JSON(t)
	if oidc["issuer"] != c["iss"] || oidc["jwks_uri"] != e.PublicURL+"/.well-known/jwks.json" {
		t.Errorf("openid-configuration = %v", oidc)
	}
}

// TestRefreshTokenFormat: a refresh token is "<id>.<secret>" with a
// time-ordered id, so that the store's key of each new token sorts after
// the last. A token whose secret is altered, or one of the format before
// ids (a bare secret), is refused like any unknown token and ends nothing:
// the real token still refreshes.
func TestRefreshTokenFormat(t *testing.T) {
	e := testserver.New(t, testserver.Options{})
	s := e.SignIn(t, "alice@example.com")
	id, secret, ok := strings.Cut(s.Refresh, ".")
	if !ok || len(id) != 22 || len(secret) != 43 {
		t.Fatalf("refresh token %q; want <22-character id>.<43-character secret>", s.Refresh)
	}
	flipped := []byte(secret)
	flipped[0] ^= 'A' ^ 'B'
	for _, bad := range []string{
		id + "." + string(flipped), // secret altered
		secret,                     // the format before ids
		id + ".",
		id[1:] + "." + secret,
	} {
		assertProblem(t, refresh(e, t, bad), http.StatusUnauthorized, "unauthorized")
	}
	e.Clock.Advance(time.Millisecond)
	r := refresh(e, t, s.Refresh)
	next := testserver.SessionOf(t, r)
	if nextID, _, _ := strings.Cut(next.Refresh, "."); nextID <= id {
		t.Fatalf("successor id %q does not sort after %q", nextID, id)
	}
}
