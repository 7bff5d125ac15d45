package oidc

import (
	"context"
	"errors"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/sesame-auth/sesame"
)

// PageError is an authorization request that cannot be sent back to the
// client (unknown client, unregistered redirect_uri): the person gets an
// error page and no redirect (SECURITY rule 42).
type PageError struct{ Description string }

func (e *PageError) Error() string { return "authorization request refused: " + e.Description }

// RedirectError is an authorization error the client hears of: the browser
// goes to RedirectTo, which carries error, error_description, state and
// iss (RFC 6749 §4.1.2.1, RFC 9207).
type RedirectError struct {
	Code       string
	RedirectTo string
}

func (e *RedirectError) Error() string { return "authorization error " + e.Code }

// authorizeParams are the parameters Authorize reads; any other is
// ignored, and each of these may appear at most once.
var authorizeParams = []string{"response_type", "client_id", "redirect_uri", "scope", "state", "nonce",
	"code_challenge", "code_challenge_method", "prompt", "max_age", "login_hint", "ui_locales", "acr_values",
	"response_mode", "request", "request_uri", "registration", "claims", "id_token_hint"}

// maxParam caps every parameter's length.
const maxParam = 2048

// pkceChallenge is an S256 challenge: base64url of a SHA-256 hash.
var pkceChallenge = regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`)

// ACR values (API.md): phr is a phishing-resistant sign-in, a passkey or
// a security key (amr hwk or swk); phrh one bound to its device (hwk).
const (
	ACRPhishingResistant         = "phr"
	ACRPhishingResistantHardware = "phrh"
)

// Authorize validates an authorization request (the query of GET
// /oauth2/authorize) and stores it for the /signin page, returning its id.
// Errors are *PageError or *RedirectError.
func (p *Provider) Authorize(ctx context.Context, q url.Values) (string, error) {
	for _, name := range []string{"client_id", "redirect_uri"} {
		if len(q[name]) > 1 {
			return "", &PageError{Description: "The parameter " + name + " is repeated."}
		}
	}
	clientID, redirectURI := q.Get("client_id"), q.Get("redirect_uri")
	if clientID == "" || len(clientID) > maxParam {
		return "", &PageError{Description: "The request names no client."}
	}
	c, err := p.cfg.Store.OAuthClientByID(ctx, clientID)
	if errors.Is(err, sesame.ErrNotFound) {
		return "", &PageError{Description: "The application that sent you here is not registered with Sesame."}
	} else if err != nil {
		return "", err
	}
	if redirectURI == "" || !redirectAllowed(c, redirectURI) {
		return "", &PageError{Description: "The application asked to send you back to an address it has not registered."}
	}
	// From here on, errors go back to the client.
	state := ""
	if len(q["state"]) == 1 {
		state = q.Get("state")
	}
	fail := func(code, desc string) (string, error) {
		p.record(ctx, sesame.AuditEvent{Event: EventAuthorize, Result: code, Detail: "client " + c.ID})
		return "", &RedirectError{Code: code, RedirectTo: p.errorRedirect(redirectURI, code, desc, state)}
	}
	for _, name := range authorizeParams {
		if len(q[name]) > 1 {
			return fail("invalid_request", "The parameter "+name+" is repeated.")
		}
		if len(q.Get(name)) > maxParam {
			return fail("invalid_request", "The parameter "+name+" is too long.")
		}
	}
	r := sesame.OAuthRequest{
		ID:            sesame.NewToken(),
		ClientID:      c.ID,
		RedirectURI:   redirectURI,
		State:         state,
		Nonce:         q.Get("nonce"),
		CodeChallenge: q.Get("code_challenge"),
		Prompt:        q.Get("prompt"),
		LoginHint:     q.Get("login_hint"),
		UILocales:     q.Get("ui_locales"),
		CreatedAt:     p.cfg.Now(),
	}
	r.ExpiresAt = r.CreatedAt.Add(RequestTTL)
	switch {
	case q.Get("request") != "":
		return fail("request_not_supported", "Request objects are not supported.")
	case q.Get("request_uri") != "":
		return fail("request_uri_not_supported", "Request objects are not supported.")
	case q.Get("registration") != "":
		return fail("registration_not_supported", "Dynamic registration is not supported.")
	case q.Get("response_type") != "code":
		return fail("unsupported_response_type", "Only response_type=code is supported.")
	case q.Get("response_mode") != "" && q.Get("response_mode") != "query":
		return fail("invalid_request", "Only response_mode=query is supported.")
	}
	if hint := q.Get("id_token_hint"); hint != "" {
		// An ID token we issued to this app, expired or not, naming the
		// person the app expects; accept refuses anyone else.
		aud, sub, err := p.verifyIDTokenHint(ctx, hint)
		if err != nil || aud != c.ID {
			return fail("invalid_request", "id_token_hint is not an ID token Sesame issued to this app.")
		}
		r.HintSubject = sub
	}
	scopes := strings.Fields(q.Get("scope"))
	if !slices.Contains(scopes, ScopeOpenID) {
		return fail("invalid_scope", "The scope must include openid.")
	}
	for _, s := range SupportedScopes {
		if slices.Contains(scopes, s) {
			r.Scopes = append(r.Scopes, s)
		}
	}
	// PKCE: S256 only; required unless the operator turned it off for a
	// confidential client (SECURITY rule 43).
	switch method := q.Get("code_challenge_method"); {
	case r.CodeChallenge == "" && method == "" && !c.RequirePKCE && !c.Public:
	case r.CodeChallenge == "":
		return fail("invalid_request", "PKCE is required: send code_challenge with code_challenge_method=S256.")
	case method == "":
		return fail("invalid_request", "code_challenge_method is required and must be S256.")
	case method != "S256":
		return fail("invalid_request", "Only the S256 code challenge method is supported.")
	case !pkceChallenge.MatchString(r.CodeChallenge):
		return fail("invalid_request", "The code challenge is not an S256 challenge.")
	}
	prompts := strings.Fields(r.Prompt)
	for _, pr := range prompts {
		if !slices.Contains([]string{"none", "login", "consent", "select_account"}, pr) {
			return fail("invalid_request", "Unknown prompt value "+strconv.Quote(pr)+".")
		}
	}
	if slices.Contains(prompts, "none") && len(prompts) > 1 {
		return fail("invalid_request", "prompt=none cannot be combined with other values.")
	}
	r.Prompt = strings.Join(prompts, " ")
	if v := q.Get("max_age"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return fail("invalid_request", "max_age must be a non-negative number of seconds.")
		}
		r.MaxAge = &n
	}
	for _, a := range strings.Fields(q.Get("acr_values")) {
		if a == ACRPhishingResistant || a == ACRPhishingResistantHardware {
			r.ACRValues = append(r.ACRValues, a)
		}
	}
	if err := p.cfg.Store.InsertOAuthRequest(ctx, r); err != nil {
		return "", err
	}
	p.record(ctx, sesame.AuditEvent{Event: EventAuthorize, Result: "success", Detail: "client " + c.ID})
	return r.ID, nil
}

// errorRedirect is redirectURI with an error response added to its query.
func (p *Provider) errorRedirect(redirectURI, code, desc, state string) string {
	v := url.Values{"error": {code}, "iss": {p.cfg.Issuer}}
	if desc != "" {
		v.Set("error_description", desc)
	}
	if state != "" {
		v.Set("state", state)
	}
	return addQuery(redirectURI, v)
}

// addQuery appends v to uri's query, keeping what the registered URI had.
func addQuery(uri string, v url.Values) string {
	sep := "?"
	if strings.Contains(uri, "?") {
		sep = "&"
	}
	return uri + sep + v.Encode()
}
