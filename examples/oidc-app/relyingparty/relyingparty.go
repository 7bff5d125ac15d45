// Package relyingparty is a small OpenID Connect relying party: an app
// that signs its users in with Sesame through the authorization code flow
// with PKCE, shows the claims of the ID token it verified, signs out
// through Sesame's end_session endpoint and takes Back-Channel Logout
// tokens. It is the example app in examples/oidc-app, and Sesame's browser
// tests use it as the app on another origin.
//
// It uses only other people's libraries for the protocol
// (golang.org/x/oauth2 and github.com/coreos/go-oidc/v3), so it shows what
// any standard client needs from Sesame, and nothing more.
package relyingparty

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// Config is what an app needs to know about itself and Sesame.
type Config struct {
	// Issuer is Sesame's public URL (http://localhost:8080 under make run);
	// the rest is found at Issuer + /.well-known/openid-configuration.
	Issuer string
	// ClientID and ClientSecret are what `sesame clients add` printed; a
	// public client (--public) has no secret and relies on PKCE alone.
	ClientID, ClientSecret string
	// BaseURL is this app's own origin, e.g. http://127.0.0.1:9090. Its
	// redirect URI is BaseURL/callback, its post-logout redirect URI
	// BaseURL/signed-out and its back-channel logout URI
	// BaseURL/backchannel-logout: register those three with Sesame.
	BaseURL string
	// Name is shown on the app's pages.
	Name string
	// Scopes default to openid, email and profile.
	Scopes []string
	// AuthParams go into every authorization request as they are, such
	// as ui_locales, acr_values, prompt, max_age or login_hint.
	AuthParams map[string]string
	// Logger gets one line per sign-in, sign-out and back-channel logout.
	Logger *slog.Logger
	// HTTPClient talks to Sesame; nil is http.DefaultClient.
	HTTPClient *http.Client
}

// Paths of the app, relative to BaseURL.
const (
	CallbackPath          = "/callback"
	SignedOutPath         = "/signed-out"
	BackchannelLogoutPath = "/backchannel-logout"
)

// backchannelEvent marks a logout token (OpenID Connect Back-Channel
// Logout 1.0 §2.4).
const backchannelEvent = "http://schemas.openid.net/event/backchannel-logout"

// App is a running relying party; Handler serves it.
type App struct {
	cfg        Config
	provider   *oidc.Provider
	oauth      oauth2.Config
	verifier   *oidc.IDTokenVerifier
	endSession string
	cookie     string // cookie name prefix: apps on one host share cookies across ports
	log        *slog.Logger

	mu       sync.Mutex
	sessions map[string]*Session // by the session cookie's value
	logouts  []Logout
}

// Session is one person signed in to the app.
type Session struct {
	Claims        map[string]any // of the verified ID token
	Subject       string
	SID           string // Sesame's session id, the key of back-channel logouts
	IDToken       string // sent back as id_token_hint at sign-out
	Scope         string // granted, as the token endpoint said
	HasRefresh    bool
	SignedInAt    time.Time
	UserinfoEmail string // from the userinfo endpoint, when the email scope was granted
}

// Logout is a verified back-channel logout token the app received.
type Logout struct {
	Subject, SID, JTI, Typ string
	Claims                 map[string]any
	Ended                  int // how many of the app's sessions it ended
	At                     time.Time
}

// New finds Sesame's endpoints by discovery and returns the app.
func New(ctx context.Context, cfg Config) (*App, error) {
	if cfg.Issuer == "" || cfg.ClientID == "" || cfg.BaseURL == "" {
		return nil, errors.New("relyingparty: Issuer, ClientID and BaseURL are required")
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	if len(cfg.Scopes) == 0 {
		cfg.Scopes = []string{oidc.ScopeOpenID, "email", "profile"}
	}
	if cfg.Name == "" {
		cfg.Name = "Example app"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.HTTPClient != nil {
		ctx = oidc.ClientContext(ctx, cfg.HTTPClient)
	}
	provider, err := oidc.NewProvider(ctx, cfg.Issuer)
	if err != nil {
		return nil, fmt.Errorf("relyingparty: discovery at %s: %w", cfg.Issuer, err)
	}
	var extra struct {
		EndSession string `json:"end_session_endpoint"`
	}
	if err := provider.Claims(&extra); err != nil {
		return nil, err
	}
	sum := sha256.Sum256([]byte(cfg.BaseURL + " " + cfg.ClientID))
	return &App{
		cfg: cfg, provider: provider,
		oauth: oauth2.Config{
			ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret,
			Endpoint:    provider.Endpoint(),
			RedirectURL: cfg.BaseURL + CallbackPath,
			Scopes:      cfg.Scopes,
		},
		verifier: provider.Verifier(&oidc.Config{
			ClientID: cfg.ClientID,
			// go-oidc accepts only RS256 unless told otherwise; Sesame
			// signs with RS256 by default and ES256 when a client asks.
			SupportedSigningAlgs: []string{oidc.RS256, oidc.ES256},
		}),
		endSession: extra.EndSession,
		cookie:     "rp_" + hex.EncodeToString(sum[:4]),
		log:        cfg.Logger,
		sessions:   map[string]*Session{},
	}, nil
}

// Handler serves the app's pages and endpoints.
func (a *App) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", a.home)
	mux.HandleFunc("GET /login", a.login)
	mux.HandleFunc("GET "+CallbackPath, a.callback)
	mux.HandleFunc("POST /logout", a.logout)
	mux.HandleFunc("GET "+SignedOutPath, a.signedOut)
	mux.HandleFunc("POST "+BackchannelLogoutPath, a.backchannelLogout)
	return mux
}

// Logouts returns the back-channel logout tokens received so far.
func (a *App) Logouts() []Logout {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.logouts)
}

// SessionCount is how many people are signed in to the app.
func (a *App) SessionCount() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.sessions)
}

func random() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return base64.RawURLEncoding.EncodeToString(b)
}

func (a *App) setCookie(w http.ResponseWriter, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{
		Name: a.cookie + "_" + name, Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: strings.HasPrefix(a.cfg.BaseURL, "https:"),
		// Lax: the cookie must come back with Sesame's redirect to the
		// callback, a top-level navigation from another site.
		SameSite: http.SameSiteLaxMode,
	})
}

func (a *App) readCookie(r *http.Request, name string) string {
	c, err := r.Cookie(a.cookie + "_" + name)
	if err != nil {
		return ""
	}
	return c.Value
}

func (a *App) session(r *http.Request) (string, *Session) {
	id := a.readCookie(r, "session")
	a.mu.Lock()
	defer a.mu.Unlock()
	return id, a.sessions[id]
}

// login starts a sign-in: state against forged callbacks, a nonce bound
// into the ID token, and a PKCE verifier (S256), all kept in a short-lived
// cookie until the callback.
func (a *App) login(w http.ResponseWriter, r *http.Request) {
	state, nonce, verifier := random(), random(), oauth2.GenerateVerifier()
	a.setCookie(w, "login", state+"."+nonce+"."+verifier, 600)
	opts := []oauth2.AuthCodeOption{oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier)}
	for k, v := range a.cfg.AuthParams {
		opts = append(opts, oauth2.SetAuthURLParam(k, v))
	}
	http.Redirect(w, r, a.oauth.AuthCodeURL(state, opts...), http.StatusFound)
}

// callback finishes a sign-in: the state and issuer of the answer, the
// code for tokens (with the PKCE verifier), then the ID token's signature,
// audience, expiry and nonce.
func (a *App) callback(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	parts := strings.Split(a.readCookie(r, "login"), ".")
	a.setCookie(w, "login", "", -1)
	if len(parts) != 3 || q.Get("state") != parts[0] {
		a.fail(w, http.StatusBadRequest, "This sign-in was not started here, or it took too long.", "")
		return
	}
	// RFC 9207: Sesame names itself in every answer; an answer from
	// another issuer (a mix-up attack) is refused.
	if q.Get("iss") != a.cfg.Issuer {
		a.fail(w, http.StatusBadRequest, "The answer did not come from "+a.cfg.Issuer+".", q.Get("iss"))
		return
	}
	if e := q.Get("error"); e != "" {
		a.fail(w, http.StatusOK, "Sign-in did not complete.", e+": "+q.Get("error_description"))
		return
	}
	nonce, verifier := parts[1], parts[2]
	ctx := r.Context()
	if a.cfg.HTTPClient != nil {
		ctx = context.WithValue(ctx, oauth2.HTTPClient, a.cfg.HTTPClient)
	}
	tok, err := a.oauth.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		a.fail(w, http.StatusBadGateway, "Sesame did not give tokens for the code.", err.Error())
		return
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := a.verifier.Verify(ctx, raw)
	if err != nil {
		a.fail(w, http.StatusBadGateway, "The ID token did not verify.", err.Error())
		return
	}
	if idt.Nonce != nonce {
		a.fail(w, http.StatusBadGateway, "The ID token is not for this sign-in (nonce).", "")
		return
	}
	if err := idt.VerifyAccessToken(tok.AccessToken); err != nil && idt.AccessTokenHash != "" {
		a.fail(w, http.StatusBadGateway, "The access token does not match the ID token (at_hash).", err.Error())
		return
	}
	claims := map[string]any{}
	if err := idt.Claims(&claims); err != nil {
		a.fail(w, http.StatusBadGateway, "The ID token's claims did not parse.", err.Error())
		return
	}
	s := &Session{Claims: claims, Subject: idt.Subject, IDToken: raw, HasRefresh: tok.RefreshToken != "", SignedInAt: time.Now()}
	s.SID, _ = claims["sid"].(string)
	s.Scope, _ = tok.Extra("scope").(string)
	if strings.Contains(" "+s.Scope+" ", " email ") {
		if info, err := a.userinfo(ctx, tok); err == nil {
			s.UserinfoEmail = info.Email
		} else {
			a.log.Warn("userinfo", "error", err)
		}
	}
	id := random()
	a.mu.Lock()
	a.sessions[id] = s
	a.mu.Unlock()
	a.setCookie(w, "session", id, 0)
	a.log.Info("signed in", "app", a.cfg.Name, "sub", s.Subject, "sid", s.SID, "amr", claims["amr"])
	http.Redirect(w, r, a.cfg.BaseURL+"/", http.StatusSeeOther)
}

func (a *App) userinfo(ctx context.Context, tok *oauth2.Token) (*oidc.UserInfo, error) {
	return a.provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
}

// logout ends the app's own session, then sends the person to Sesame's
// end_session endpoint, which asks them and ends the Sesame session; the
// other apps of that session hear of it by back-channel logout.
func (a *App) logout(w http.ResponseWriter, r *http.Request) {
	id, s := a.session(r)
	a.mu.Lock()
	delete(a.sessions, id)
	a.mu.Unlock()
	a.setCookie(w, "session", "", -1)
	if a.endSession == "" || s == nil {
		http.Redirect(w, r, a.cfg.BaseURL+SignedOutPath, http.StatusSeeOther)
		return
	}
	q := url.Values{
		"id_token_hint":            {s.IDToken},
		"post_logout_redirect_uri": {a.cfg.BaseURL + SignedOutPath},
		"client_id":                {a.cfg.ClientID},
		"state":                    {random()},
	}
	a.log.Info("signing out through Sesame", "app", a.cfg.Name, "sub", s.Subject, "sid", s.SID)
	http.Redirect(w, r, a.endSession+"?"+q.Encode(), http.StatusSeeOther)
}

// backchannelLogout takes a logout token from Sesame (Back-Channel Logout
// 1.0): verified like an ID token (signature, issuer, audience, expiry),
// then it must carry the logout event and no nonce. Every session of its
// sid (or, without one, its subject) ends.
func (a *App) backchannelLogout(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	raw := r.PostFormValue("logout_token")
	tok, err := a.verifier.Verify(r.Context(), raw)
	if err != nil {
		a.log.Warn("back-channel logout refused", "app", a.cfg.Name, "error", err)
		http.Error(w, `{"error":"invalid_request"}`, http.StatusBadRequest)
		return
	}
	var c struct {
		SID    string         `json:"sid"`
		JTI    string         `json:"jti"`
		Nonce  *string        `json:"nonce"`
		Events map[string]any `json:"events"`
	}
	claims := map[string]any{}
	if tok.Claims(&c) != nil || tok.Claims(&claims) != nil || c.Nonce != nil || c.Events[backchannelEvent] == nil || (c.SID == "" && tok.Subject == "") {
		a.log.Warn("back-channel logout refused: not a logout token", "app", a.cfg.Name)
		http.Error(w, `{"error":"invalid_request"}`, http.StatusBadRequest)
		return
	}
	l := Logout{Subject: tok.Subject, SID: c.SID, JTI: c.JTI, Typ: joseType(raw), Claims: claims, At: time.Now()}
	a.mu.Lock()
	for id, s := range a.sessions {
		if (c.SID != "" && s.SID == c.SID) || (c.SID == "" && s.Subject == tok.Subject) {
			delete(a.sessions, id)
			l.Ended++
		}
	}
	a.logouts = append(a.logouts, l)
	a.mu.Unlock()
	a.log.Info("back-channel logout", "app", a.cfg.Name, "sub", l.Subject, "sid", l.SID, "jti", l.JTI, "typ", l.Typ, "sessions_ended", l.Ended)
	w.WriteHeader(http.StatusOK)
}

// joseType is the typ of a JWT's header ("logout+jwt").
func joseType(raw string) string {
	head, _, _ := strings.Cut(raw, ".")
	b, err := base64.RawURLEncoding.DecodeString(head)
	if err != nil {
		return ""
	}
	var h struct {
		Typ string `json:"typ"`
	}
	_ = json.Unmarshal(b, &h)
	return h.Typ
}
