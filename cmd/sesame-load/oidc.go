package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
)

// opOIDC is a complete OpenID Connect code login of an app, with the
// virtual user's Sesame session already present: authorize, accept (as
// the /signin page does, with the request's cookie), token (PKCE, client
// secret) and userinfo.
const opOIDC = "oidc"

// oidcClient is an app registered with `sesame clients add … --trusted
// --json`, whose output -oidc-client names.
type oidcClient struct {
	ID          string   `json:"client_id"`
	Secret      string   `json:"client_secret"`
	RedirectURI []string `json:"redirect_uris"`
}

// readOIDCClient reads the JSON `sesame clients add --json` printed.
func readOIDCClient(name string) (*oidcClient, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	var c oidcClient
	if err := json.Unmarshal(b, &c); err != nil || c.ID == "" || c.Secret == "" || len(c.RedirectURI) == 0 {
		return nil, fmt.Errorf("%s: want the --json output of `sesame clients add` for a confidential client", name)
	}
	return &c, nil
}

var errNoOIDCClient = errors.New("the oidc operation needs -oidc-client")

// oidcLogin runs one complete code login for the current session.
func (u *vu) oidcLogin(ctx context.Context) error {
	app := u.app
	if app == nil {
		return errNoOIDCClient
	}
	verifier := randomToken()
	sum := sha256.Sum256([]byte(verifier))
	q := url.Values{"response_type": {"code"}, "client_id": {app.ID}, "redirect_uri": {app.RedirectURI[0]},
		"scope": {"openid email"}, "state": {randomToken()}, "nonce": {randomToken()},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"}}
	h, err := u.c.call(ctx, "GET", "/oauth2/authorize?"+q.Encode(), nil, http.StatusSeeOther, nil)
	if err != nil {
		return err
	}
	id, ok := strings.CutPrefix(h.Get("Location"), "/signin?request=")
	binder := cookie(h, "sesame_request")
	if !ok || binder == "" {
		return fmt.Errorf("authorize: no hand-over (Location %q)", h.Get("Location"))
	}
	var accepted struct {
		RedirectTo string `json:"redirect_to"`
	}
	if _, err := u.c.call(ctx, "POST", "/api/oauth2/requests/"+url.PathEscape(id)+"/accept", map[string]bool{"consent": true},
		http.StatusOK, &accepted, bearer(u.cur.access), header{"Origin", u.origin}, header{"Cookie", "sesame_request=" + binder}); err != nil {
		return err
	}
	back, err := url.Parse(accepted.RedirectTo)
	if err != nil || back.Query().Get("code") == "" {
		return fmt.Errorf("accept: no code in %q", accepted.RedirectTo)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
		IDToken     string `json:"id_token"`
	}
	form := url.Values{"grant_type": {"authorization_code"}, "code": {back.Query().Get("code")},
		"redirect_uri": {app.RedirectURI[0]}, "code_verifier": {verifier}}
	if _, err := u.c.form(ctx, "/oauth2/token", form, http.StatusOK, &tok, basicAuth(app.ID, app.Secret)); err != nil {
		return err
	}
	if tok.AccessToken == "" || tok.IDToken == "" {
		return errors.New("token: no access or ID token")
	}
	_, err = u.c.call(ctx, "GET", "/oauth2/userinfo", nil, http.StatusOK, nil, bearer(tok.AccessToken))
	return err
}

func basicAuth(id, secret string) header {
	return header{"Authorization", "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id)+":"+url.QueryEscape(secret)))}
}

func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
