package oidc

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/token"
)

// NewClient is what `sesame clients add` registers.
type NewClient struct {
	Name                   string
	RedirectURIs           []string
	PostLogoutRedirectURIs []string
	BackchannelLogoutURI   string
	Public                 bool
	Trusted                bool
	// NoPKCE lets a confidential client whose software cannot send a code
	// challenge (Gitea) go without; a challenge it does send is still
	// checked. Public clients always need PKCE.
	NoPKCE     bool
	IDTokenAlg string // RS256 (default) or ES256
	// CIBA lets a confidential client ask people for approvals.
	CIBA bool
}

// Register validates and stores a new client and returns it with its
// secret (empty for a public client), which is shown once and stored only
// as SHA-256 (SECURITY rule 47).
func (p *Provider) Register(ctx context.Context, n NewClient) (sesame.OAuthClient, string, error) {
	c := sesame.OAuthClient{
		// Hex, not base64url: an id never starts with "-", so it passes
		// through command lines and config files untouched.
		ID:                     hex.EncodeToString(sesame.RandomBytes(16)),
		Name:                   strings.TrimSpace(n.Name),
		RedirectURIs:           n.RedirectURIs,
		PostLogoutRedirectURIs: n.PostLogoutRedirectURIs,
		BackchannelLogoutURI:   n.BackchannelLogoutURI,
		Public:                 n.Public,
		Trusted:                n.Trusted,
		RequirePKCE:            !n.NoPKCE,
		IDTokenAlg:             n.IDTokenAlg,
		CIBA:                   n.CIBA,
		CreatedAt:              p.cfg.Now(),
	}
	if c.IDTokenAlg == "" {
		c.IDTokenAlg = token.AlgRS256
	}
	if c.RedirectURIs == nil {
		c.RedirectURIs = []string{}
	}
	if c.PostLogoutRedirectURIs == nil {
		c.PostLogoutRedirectURIs = []string{}
	}
	switch {
	case c.Name == "" || len(c.Name) > 100:
		return c, "", sesame.Errorf(sesame.EBadRequest, "A client needs a name of 1 to 100 characters.")
	case len(c.RedirectURIs) == 0 && !c.CIBA:
		// A client only asking for approvals never redirects anyone.
		return c, "", sesame.Errorf(sesame.EBadRequest, "A client needs at least one --redirect-uri.")
	case c.Public && n.CIBA:
		return c, "", sesame.Errorf(sesame.EBadRequest, "Approvals (--ciba) are for confidential clients only.")
	case c.Public && n.NoPKCE:
		return c, "", sesame.Errorf(sesame.EBadRequest, "A public client always needs PKCE.")
	case c.IDTokenAlg != token.AlgRS256 && c.IDTokenAlg != token.AlgES256:
		return c, "", sesame.Errorf(sesame.EBadRequest, "--id-token-alg must be RS256 or ES256.")
	}
	for _, u := range slices.Concat(c.RedirectURIs, c.PostLogoutRedirectURIs) {
		if err := checkRegisteredURI(u, true); err != nil {
			return c, "", err
		}
	}
	if c.BackchannelLogoutURI != "" {
		if err := checkRegisteredURI(c.BackchannelLogoutURI, false); err != nil {
			return c, "", err
		}
	}
	var secret string
	if !c.Public {
		secret = sesame.NewToken()
		c.SecretHash = hashSecret(secret)
	}
	if err := p.cfg.Store.InsertOAuthClient(ctx, c); err != nil {
		return c, "", err
	}
	return c, secret, nil
}

// checkRegisteredURI refuses what RFC 9700 §2.6 and OpenID Connect forbid
// in a registered URI: relative URIs, fragments, and plain http beyond this
// machine. Native apps may use their own scheme.
func checkRegisteredURI(raw string, customScheme bool) error {
	u, err := url.Parse(raw)
	bad := func(why string) error {
		return sesame.Errorf(sesame.EBadRequest, "URI %q: %s", raw, why)
	}
	switch {
	case err != nil || !u.IsAbs():
		return bad("not an absolute URI")
	case u.Fragment != "" || strings.Contains(raw, "#"):
		return bad("a fragment is not allowed")
	case u.Scheme == "https":
	case u.Scheme == "http":
		if !isLocalHost(u.Hostname()) {
			return bad("plain http only for localhost or a loopback address")
		}
	case customScheme && strings.Contains(u.Scheme, "."):
		// A private-use scheme in reverse-DNS form (RFC 8252 §7.1).
	default:
		return bad("use https")
	}
	if (u.Scheme == "http" || u.Scheme == "https") && u.Host == "" {
		return bad("no host")
	}
	return nil
}

func isLocalHost(h string) bool {
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// Clients lists every client.
func (p *Provider) Clients(ctx context.Context) ([]sesame.OAuthClient, error) {
	return p.cfg.Store.OAuthClients(ctx)
}

// Client returns one client.
func (p *Provider) Client(ctx context.Context, id string) (sesame.OAuthClient, error) {
	c, err := p.cfg.Store.OAuthClientByID(ctx, id)
	if errors.Is(err, sesame.ErrNotFound) {
		return c, sesame.Errorf(sesame.ENotFound, "No client %q.", id)
	}
	return c, err
}

// RemoveClient deletes a client with its consents and tokens.
func (p *Provider) RemoveClient(ctx context.Context, id string) error {
	if err := p.cfg.Store.DeleteOAuthClient(ctx, id); errors.Is(err, sesame.ErrNotFound) {
		return sesame.Errorf(sesame.ENotFound, "No client %q.", id)
	} else if err != nil {
		return err
	}
	return nil
}

// RotateSecret gives a confidential client a new secret, shown once; the
// old one stops working at once.
func (p *Provider) RotateSecret(ctx context.Context, id string) (sesame.OAuthClient, string, error) {
	c, err := p.Client(ctx, id)
	if err != nil {
		return c, "", err
	}
	if c.Public {
		return c, "", sesame.Errorf(sesame.EBadRequest, "Client %q is public: it has no secret.", id)
	}
	secret := sesame.NewToken()
	if err := p.cfg.Store.SetOAuthClientSecret(ctx, id, hashSecret(secret)); err != nil {
		return c, "", err
	}
	return c, secret, nil
}

func hashSecret(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// ClientAuth is how a client authenticated at the token, revocation or
// introspection endpoint.
type ClientAuth struct {
	ID     string
	Secret string
	// Method is "client_secret_basic", "client_secret_post" or "none".
	Method string
}

// authenticate checks a client's credentials: a confidential client must
// present its secret (compared as SHA-256 in constant time), a public one
// must present none.
func (p *Provider) authenticate(ctx context.Context, a ClientAuth) (sesame.OAuthClient, error) {
	if a.ID == "" {
		return sesame.OAuthClient{}, errInvalidClient(a, "Client authentication is required.")
	}
	c, err := p.cfg.Store.OAuthClientByID(ctx, a.ID)
	if errors.Is(err, sesame.ErrNotFound) {
		return c, errInvalidClient(a, "Unknown client or wrong secret.")
	} else if err != nil {
		return c, err
	}
	if c.Public {
		if a.Method != "none" {
			return c, errInvalidClient(a, "A public client sends no secret.")
		}
		return c, nil
	}
	if a.Method == "none" || subtle.ConstantTimeCompare(hashSecret(a.Secret), c.SecretHash) != 1 {
		return c, errInvalidClient(a, "Unknown client or wrong secret.")
	}
	return c, nil
}

// redirectAllowed reports whether uri is registered for c: exactly, or for
// a public client with a loopback IP redirect, on any port (RFC 8252 §7.3,
// SECURITY rule 42).
func redirectAllowed(c sesame.OAuthClient, uri string) bool {
	if slices.Contains(c.RedirectURIs, uri) {
		return true
	}
	if !c.Public {
		return false
	}
	u, err := url.Parse(uri)
	if err != nil || u.Scheme != "http" || !isLoopbackIP(u.Hostname()) {
		return false
	}
	for _, r := range c.RedirectURIs {
		ru, err := url.Parse(r)
		if err != nil || ru.Scheme != "http" || ru.Hostname() != u.Hostname() {
			continue
		}
		if ru.Path == u.Path && ru.RawQuery == u.RawQuery && u.Fragment == "" && u.User == nil &&
			!strings.Contains(uri, "#") && strings.EqualFold(withoutPort(r), withoutPort(uri)) {
			return true
		}
	}
	return false
}

func isLoopbackIP(h string) bool {
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// withoutPort is uri with its port removed, for comparing loopback URIs.
func withoutPort(uri string) string {
	u, err := url.Parse(uri)
	if err != nil {
		return uri
	}
	host := u.Hostname()
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	u.Host = host
	return u.String()
}

func errInvalidClient(a ClientAuth, desc string) *Error {
	e := &Error{Code: "invalid_client", Description: desc, Status: 401}
	if a.Method == "client_secret_basic" {
		e.Challenge = `Basic realm="sesame"`
	}
	return e
}

// Error is an OAuth 2.0 error response (RFC 6749 §5.2) of the token,
// revocation, introspection and userinfo endpoints.
type Error struct {
	Code        string
	Description string
	Status      int
	// Challenge, when set, is the WWW-Authenticate header.
	Challenge string
}

func (e *Error) Error() string { return fmt.Sprintf("oauth error %s: %s", e.Code, e.Description) }

func invalidRequest(desc string) *Error {
	return &Error{Code: "invalid_request", Description: desc, Status: 400}
}

func invalidGrant(desc string) *Error {
	return &Error{Code: "invalid_grant", Description: desc, Status: 400}
}
