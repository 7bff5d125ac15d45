package server_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/internal/testserver"
	"github.com/sesame-auth/sesame/oidc"
)

// listening is the setup of the OpenID Connect tests: a real socket, for
// x/oauth2 and go-oidc.
var listening = testserver.Options{Listen: true}

// relyingParty is an app signing its users in with Sesame, as a real one
// does: golang.org/x/oauth2 for the flow, go-oidc for the ID token.
type relyingParty struct {
	e        *testserver.Env
	client   sesame.OAuthClient
	secret   string
	cfg      oauth2.Config
	provider *gooidc.Provider
	verifier *gooidc.IDTokenVerifier
}

const rpRedirect = "https://app.example.com/callback"

// newRP registers a client (a confidential RS256 one unless n says
// otherwise) and discovers Sesame with go-oidc.
func newRP(t *testing.T, e *testserver.Env, n oidc.NewClient) *relyingParty {
	t.Helper()
	if n.Name == "" {
		n.Name = "Grafana"
	}
	if n.RedirectURIs == nil {
		n.RedirectURIs = []string{rpRedirect}
	}
	c, secret, err := e.App.OIDC.Register(context.Background(), n)
	if err != nil {
		t.Fatalf("register client: %v", err)
	}
	ctx := context.Background()
	provider, err := gooidc.NewProvider(ctx, e.PublicURL)
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	rp := &relyingParty{e: e, client: c, secret: secret, provider: provider,
		cfg: oauth2.Config{ClientID: c.ID, ClientSecret: secret, Endpoint: provider.Endpoint(),
			RedirectURL: c.RedirectURIs[0], Scopes: []string{gooidc.ScopeOpenID, "email"}},
	}
	algs := []string{c.IDTokenAlg}
	rp.verifier = provider.Verifier(&gooidc.Config{ClientID: c.ID, SupportedSigningAlgs: algs, Now: e.Clock.Now})
	return rp
}

// flow is one authorization request in progress.
type flow struct {
	state, nonce, verifier string
	requestID              string
	// binder is the request's cookie, which the browser got with the
	// redirect to /signin and sends with every call about the request.
	binder string
}

// requestCookie is the cookie binding a request to its browser.
const requestCookie = "sesame_request"

// cookie is the Cookie header the browser sends with the calls about f's
// request.
func (f flow) cookie() testserver.Header { return testserver.Cookie(requestCookie, f.binder) }

// started reads an answer to /oauth2/authorize as the browser keeps it: a
// 303 to /signin?request=ID with the request's cookie, scoped to the
// request's own API path.
func started(t testing.TB, r testserver.Response) flow {
	t.Helper()
	loc := r.Header.Get("Location")
	if r.Status != http.StatusSeeOther || !strings.HasPrefix(loc, "/signin?request=") {
		t.Fatalf("authorize = %d Location %q %s; want 303 to /signin?request=", r.Status, loc, r.Body)
	}
	f := flow{requestID: strings.TrimPrefix(loc, "/signin?request="), binder: r.Cookie(requestCookie)}
	if f.binder == "" {
		t.Fatalf("authorize set no %s cookie", requestCookie)
	}
	return f
}

// authorize sends the browser to /oauth2/authorize with extra parameters
// and returns the request id the /signin page would get.
func (rp *relyingParty) authorize(t *testing.T, extra url.Values, opts ...oauth2.AuthCodeOption) flow {
	t.Helper()
	f := flow{state: sesame.NewID(), nonce: sesame.NewID(), verifier: oauth2.GenerateVerifier()}
	opts = append(opts, gooidc.Nonce(f.nonce), oauth2.S256ChallengeOption(f.verifier))
	for k, v := range extra {
		opts = append(opts, oauth2.SetAuthURLParam(k, v[0]))
	}
	u, err := url.Parse(rp.cfg.AuthCodeURL(f.state, opts...))
	if err != nil {
		t.Fatal(err)
	}
	s := started(t, rp.e.Do(t, "GET", u.RequestURI(), nil))
	f.requestID, f.binder = s.requestID, s.binder
	return f
}

// accept is the /signin page accepting the request with the person's
// Bearer token, from the browser that started it.
func accept(t *testing.T, e *testserver.Env, f flow, access string, consent bool) testserver.Response {
	t.Helper()
	return e.Do(t, "POST", "/api/oauth2/requests/"+f.requestID+"/accept", map[string]bool{"consent": consent},
		testserver.Bearer(access), testserver.H("Origin", e.PublicURL), f.cookie())
}

// acceptOK accepts and returns the redirect's query, checking state and iss.
func (rp *relyingParty) acceptOK(t *testing.T, f flow, access string) url.Values {
	t.Helper()
	r := accept(t, rp.e, f, access, true)
	if r.Status != http.StatusOK {
		t.Fatalf("accept = %d %s; want 200", r.Status, r.Body)
	}
	return rp.landing(t, r, f)
}

// landing reads a {"redirect_to"} answer as the app's callback sees it.
func (rp *relyingParty) landing(t *testing.T, r testserver.Response, f flow) url.Values {
	t.Helper()
	to, _ := r.JSON(t)["redirect_to"].(string)
	u, err := url.Parse(to)
	if err != nil || !strings.HasPrefix(to, rp.cfg.RedirectURL+"?") {
		t.Fatalf("redirect_to %q is not the registered redirect URI", to)
	}
	q := u.Query()
	if q.Get("state") != f.state || q.Get("iss") != rp.e.PublicURL {
		t.Fatalf("redirect %q: want state %q and iss %q (RFC 9207)", to, f.state, rp.e.PublicURL)
	}
	return q
}

// tokens is a successful exchange, verified as a relying party does.
type tokens struct {
	*oauth2.Token
	idToken *gooidc.IDToken
	raw     string
}

// exchange redeems a code with x/oauth2 and verifies the ID token with
// go-oidc against the JWKS, including the nonce and at_hash.
func (rp *relyingParty) exchange(t *testing.T, f flow, code string) tokens {
	t.Helper()
	tok, err := rp.cfg.Exchange(context.Background(), code, oauth2.VerifierOption(f.verifier))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	return rp.verify(t, tok, f.nonce)
}

func (rp *relyingParty) verify(t *testing.T, tok *oauth2.Token, nonce string) tokens {
	t.Helper()
	raw, _ := tok.Extra("id_token").(string)
	idt, err := rp.verifier.Verify(context.Background(), raw)
	if err != nil {
		t.Fatalf("ID token does not verify: %v", err)
	}
	if idt.Nonce != nonce {
		t.Fatalf("nonce = %q; want %q", idt.Nonce, nonce)
	}
	if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
		t.Fatalf("at_hash: %v", err)
	}
	return tokens{Token: tok, idToken: idt, raw: raw}
}

// form posts a form to a protocol endpoint over the socket.
func form(t *testing.T, e *testserver.Env, path string, v url.Values, user, pass string) *http.Response {
	t.Helper()
	req, err := http.NewRequest("POST", e.BaseURL+path, strings.NewReader(v.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if user != "" {
		req.SetBasicAuth(url.QueryEscape(user), url.QueryEscape(pass))
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { res.Body.Close() })
	return res
}

func s256(verifier string) string {
	h := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(h[:])
}

func jsonInto(b []byte, v any) error { return json.Unmarshal(b, v) }
