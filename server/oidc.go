package server

import (
	"bytes"
	"encoding/base64"
	"errors"
	"html/template"
	"mime"
	"net/url"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/sesame-auth/sesame/limit"
	"github.com/sesame-auth/sesame/oidc"
)

// oidcRoutes mounts the OpenID Connect provider (API.md "Apps signing
// their users in"). The protocol endpoints under /oauth2/ speak RFC 6749
// (form bodies, JSON errors) and skip the JSON-only and Origin checks,
// which are for Sesame's own API; the /api/oauth2/ calls of the pages are
// ordinary API calls.
func (s *Server) oidcRoutes() {
	if s.cfg.OIDC == nil {
		return
	}
	app := s.app
	app.Get("/oauth2/authorize", s.oauthAuthorize)
	app.Post("/oauth2/token", s.cors, s.limitIP(limit.OAuthPerIP), s.oauthToken)
	app.Options("/oauth2/token", s.cors, s.preflight)
	app.Get("/oauth2/userinfo", s.cors, s.oauthUserInfo)
	app.Post("/oauth2/userinfo", s.cors, s.oauthUserInfo)
	app.Options("/oauth2/userinfo", s.cors, s.preflight)
	app.Post("/oauth2/revoke", s.cors, s.limitIP(limit.OAuthPerIP), s.oauthRevoke)
	app.Options("/oauth2/revoke", s.cors, s.preflight)
	app.Post("/oauth2/introspect", s.oauthIntrospect)
	app.Post("/oauth2/bc-authorize", s.limitIP(limit.OAuthPerIP), s.backchannelAuthorize)
	app.Get("/oauth2/end_session", s.oauthEndSession)

	api := app.Group("/api")
	api.Get("/oauth2/requests/:id", s.oauthRequest)
	api.Post("/oauth2/requests/:id/accept", s.requireAuth, s.requireLiveSession, s.oauthAccept)
	api.Post("/oauth2/requests/:id/deny", s.limitIP(limit.OAuthPerIP), s.oauthDeny)
	api.Get("/oauth2/logout/:id", s.oauthLogout)
	api.Post("/oauth2/logout/:id/complete", s.limitIP(limit.OAuthPerIP), s.oauthLogoutComplete)
	// The emailed link's routes come before /approvals/:id, which would
	// take "link" for an id.
	api.Post("/approvals/link", s.limitIP(limit.CodeVerifyPerIP), s.approvalByLink)
	api.Post("/approvals/link/begin", s.limitIP(limit.WebAuthnBeginPerIP), s.approvalLinkBegin)
	api.Post("/approvals/link/approve", s.limitIP(limit.WebAuthnFinishPerIP), s.approvalLinkApprove)
	api.Post("/approvals/link/deny", s.limitIP(limit.CodeVerifyPerIP), s.approvalLinkDeny)
	api.Get("/approvals", s.requireAuth, s.approvals)
	api.Post("/approvals/:id/begin", s.requireAuth, s.requireLiveSession, s.approvalBegin)
	api.Post("/approvals/:id/approve", s.requireAuth, s.requireLiveSession, s.approvalApprove)
	api.Post("/approvals/:id/deny", s.requireAuth, s.requireLiveSession, s.approvalDeny)
	api.Get("/me/apps", s.requireAuth, s.myApps)
	api.Delete("/me/apps/:client_id", s.requireAuth, s.requireLiveSession, s.withdrawApp)
}

// isProtocolPath reports whether a path is an OAuth protocol endpoint,
// which other sites' apps call with form bodies.
func isProtocolPath(path string) bool { return strings.HasPrefix(path, "/oauth2/") }

// cors allows any origin, without credentials, on the endpoints SECURITY
// rule 51 names: discovery, JWKS, token, userinfo and revoke. No other
// route sets these headers.
func (s *Server) cors(c *fiber.Ctx) error {
	c.Set(fiber.HeaderAccessControlAllowOrigin, "*")
	return c.Next()
}

func (s *Server) preflight(c *fiber.Ctx) error {
	c.Set(fiber.HeaderAccessControlAllowMethods, "GET, POST")
	c.Set(fiber.HeaderAccessControlAllowHeaders, "Authorization, Content-Type")
	c.Set(fiber.HeaderAccessControlMaxAge, "600")
	return c.SendStatus(fiber.StatusNoContent)
}

var oauthErrorPage = template.Must(template.New("oauth-error").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Cannot continue · Sesame</title><link rel="stylesheet" href="/static/app.css"></head>
<body><main class="card"><h1>Sesame cannot continue this sign-in</h1>
<p>{{.}}</p><p>Go back to the app you came from and try again, or tell its operator.</p></main></body></html>`))

// oauthPage answers a request that must not go back to the client with a
// 400 HTML page and no Location (SECURITY rule 42).
func oauthPage(c *fiber.Ctx, desc string) error {
	var buf bytes.Buffer
	if err := oauthErrorPage.Execute(&buf, desc); err != nil {
		return err
	}
	c.Type("html", "utf-8")
	return c.Status(fiber.StatusBadRequest).Send(buf.Bytes())
}

// rawQuery parses the query string keeping repeated parameters, which
// Authorize refuses; a malformed one is a page error.
func rawQuery(c *fiber.Ctx) (url.Values, error) {
	return url.ParseQuery(string(c.Request().URI().QueryString()))
}

// oauthAuthorize validates an authorization request and hands it to the
// /signin page (DESIGN.md "The browser session stays SameSite=Strict").
func (s *Server) oauthAuthorize(c *fiber.Ctx) error {
	q, err := rawQuery(c)
	if err != nil {
		return oauthPage(c, "The request is malformed.")
	}
	id, err := s.cfg.OIDC.Authorize(c.UserContext(), q)
	var page *oidc.PageError
	var redirect *oidc.RedirectError
	switch {
	case errors.As(err, &page):
		return oauthPage(c, page.Description)
	case errors.As(err, &redirect):
		return c.Redirect(redirect.RedirectTo, fiber.StatusSeeOther)
	case err != nil:
		return err
	}
	s.setRequestCookie(c, id)
	return c.Redirect("/signin?request="+url.QueryEscape(id), fiber.StatusSeeOther)
}

// requestCookie binds an authorization request to the browser the app
// sent here (oidc.Provider.Binder). Its path is the request's own API
// path, so a browser holds one per request (two tabs, two apps) and sends
// each only with the calls about its request. SameSite=Strict (rule 36):
// it is set by the app's cross-site navigation, which may set it, and
// read only by the page's same-origin calls, which send it.
const requestCookie = "sesame_request"

func requestPath(id string) string { return "/api/oauth2/requests/" + url.PathEscape(id) }

func (s *Server) setRequestCookie(c *fiber.Ctx, id string) {
	c.Cookie(&fiber.Cookie{
		Name:     requestCookie,
		Value:    s.cfg.OIDC.Binder(id),
		Path:     requestPath(id),
		MaxAge:   int(oidc.RequestTTL / time.Second),
		HTTPOnly: true,
		Secure:   s.secure,
		SameSite: fiber.CookieSameSiteStrictMode,
	})
}

// oauthError writes an RFC 6749 §5.2 error, or hands anything that is not
// an OAuth error (a busy database, a fault) to the problem handler.
func oauthError(c *fiber.Ctx, err error) error {
	var oe *oidc.Error
	if !errors.As(err, &oe) {
		return err
	}
	if oe.Challenge != "" {
		c.Set(fiber.HeaderWWWAuthenticate, oe.Challenge)
	}
	c.Set("Pragma", "no-cache")
	return c.Status(oe.Status).JSON(fiber.Map{"error": oe.Code, "error_description": oe.Description})
}

// protocolForm reads a form-encoded protocol request body: any other
// content type, a malformed body or a repeated parameter is an RFC 6749
// invalid_request, never a 5xx.
func protocolForm(c *fiber.Ctx) (url.Values, oidc.ClientAuth, error) {
	mt, _, err := mime.ParseMediaType(c.Get(fiber.HeaderContentType))
	if err != nil || mt != fiber.MIMEApplicationForm {
		return nil, oidc.ClientAuth{}, &oidc.Error{Code: "invalid_request", Description: "Send the body as application/x-www-form-urlencoded.", Status: 400}
	}
	form, err := url.ParseQuery(string(c.Body()))
	if err != nil {
		return nil, oidc.ClientAuth{}, &oidc.Error{Code: "invalid_request", Description: "The body is not a valid form.", Status: 400}
	}
	if err := oidc.CheckForm(form); err != nil {
		return nil, oidc.ClientAuth{}, err
	}
	user, pass, basic, err := basicAuth(c)
	if err != nil {
		return nil, oidc.ClientAuth{}, err
	}
	auth, err := oidc.ClientAuthFrom(form, basic, user, pass)
	return form, auth, err
}

// basicAuth reads an Authorization: Basic header.
func basicAuth(c *fiber.Ctx) (user, pass string, ok bool, err error) {
	h := c.Get(fiber.HeaderAuthorization)
	if len(h) < 6 || !strings.EqualFold(h[:6], "basic ") {
		return "", "", false, nil
	}
	raw, derr := base64.StdEncoding.DecodeString(strings.TrimSpace(h[6:]))
	user, pass, found := strings.Cut(string(raw), ":")
	if derr != nil || !found {
		return "", "", false, &oidc.Error{Code: "invalid_client", Description: "Malformed Basic credentials.", Status: 401, Challenge: `Basic realm="sesame"`}
	}
	return user, pass, true, nil
}

func (s *Server) oauthToken(c *fiber.Ctx) error {
	form, auth, err := protocolForm(c)
	if err != nil {
		return oauthError(c, err)
	}
	res, err := s.cfg.OIDC.Token(c.UserContext(), form, auth)
	if err != nil {
		return oauthError(c, err)
	}
	c.Set("Pragma", "no-cache")
	return c.JSON(res)
}

func (s *Server) oauthUserInfo(c *fiber.Ctx) error {
	claims, err := s.cfg.OIDC.UserInfo(c.UserContext(), bearer(c))
	if err != nil {
		return oauthError(c, err)
	}
	return c.JSON(claims)
}

func (s *Server) oauthRevoke(c *fiber.Ctx) error {
	form, auth, err := protocolForm(c)
	if err == nil {
		err = s.cfg.OIDC.Revoke(c.UserContext(), auth, form.Get("token"))
	}
	if err != nil {
		return oauthError(c, err)
	}
	return c.SendStatus(fiber.StatusOK)
}

func (s *Server) oauthIntrospect(c *fiber.Ctx) error {
	form, auth, err := protocolForm(c)
	if err != nil {
		return oauthError(c, err)
	}
	res, err := s.cfg.OIDC.Introspect(c.UserContext(), auth, form.Get("token"))
	if err != nil {
		return oauthError(c, err)
	}
	return c.JSON(res)
}

type oauthClientJSON struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

func (s *Server) oauthRequest(c *fiber.Ctx) error {
	r, err := s.cfg.OIDC.Request(c.UserContext(), c.Params("id"), c.Cookies(requestCookie))
	if err != nil {
		return err
	}
	acr := r.ACRValues
	if acr == nil {
		acr = []string{}
	}
	return c.JSON(fiber.Map{
		"client":     oauthClientJSON{ID: r.ClientID, Name: r.ClientName},
		"scopes":     r.Scopes,
		"login_hint": r.LoginHint,
		"prompt":     r.Prompt,
		"max_age":    r.MaxAge,
		"acr_values": acr,
		"ui_locales": r.UILocales,
	})
}

func (s *Server) oauthAccept(c *fiber.Ctx) error {
	var body struct {
		Consent bool `json:"consent"`
	}
	if err := parseBody(c, &body); err != nil {
		return err
	}
	claims := claimsOf(c)
	to, err := s.cfg.OIDC.Accept(c.UserContext(), c.Params("id"), c.Cookies(requestCookie), oidc.SignedIn{
		UserID: claims.Subject, SessionID: claims.SessionID, AuthTime: claims.AuthTime, AMR: claims.AMR,
	}, body.Consent)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"redirect_to": to})
}

func (s *Server) oauthDeny(c *fiber.Ctx) error {
	var body struct {
		Error string `json:"error"`
	}
	if err := parseBody(c, &body); err != nil {
		return err
	}
	to, err := s.cfg.OIDC.Deny(c.UserContext(), c.Params("id"), c.Cookies(requestCookie), body.Error)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"redirect_to": to})
}

func (s *Server) oauthEndSession(c *fiber.Ctx) error {
	q, err := rawQuery(c)
	if err != nil {
		return oauthPage(c, "The request is malformed.")
	}
	id, err := s.cfg.OIDC.EndSession(c.UserContext(), q)
	var page *oidc.PageError
	if errors.As(err, &page) {
		return oauthPage(c, page.Description)
	} else if err != nil {
		return err
	}
	return c.Redirect("/signout?logout="+url.QueryEscape(id), fiber.StatusSeeOther)
}

func (s *Server) oauthLogout(c *fiber.Ctx) error {
	cl, err := s.cfg.OIDC.Logout(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	if cl == nil {
		return c.JSON(fiber.Map{"client": nil})
	}
	return c.JSON(fiber.Map{"client": oauthClientJSON{ID: cl.ID, Name: cl.Name}})
}

func (s *Server) oauthLogoutComplete(c *fiber.Ctx) error {
	to, err := s.cfg.OIDC.CompleteLogout(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	if to == "" {
		return c.JSON(fiber.Map{"redirect_to": nil})
	}
	return c.JSON(fiber.Map{"redirect_to": to})
}

type appJSON struct {
	ClientID   string     `json:"client_id"`
	Name       string     `json:"name"`
	Scopes     []string   `json:"scopes"`
	ApprovedAt time.Time  `json:"approved_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
}

func (s *Server) myApps(c *fiber.Ctx) error {
	list, err := s.cfg.OIDC.Apps(c.UserContext(), claimsOf(c).Subject)
	if err != nil {
		return err
	}
	out := make([]appJSON, 0, len(list))
	for _, a := range list {
		out = append(out, appJSON{ClientID: a.ClientID, Name: a.ClientName, Scopes: a.Scopes, ApprovedAt: a.ApprovedAt, LastUsedAt: a.LastUsedAt})
	}
	return c.JSON(out)
}

func (s *Server) withdrawApp(c *fiber.Ctx) error {
	if err := s.cfg.OIDC.WithdrawApp(c.UserContext(), claimsOf(c).Subject, c.Params("client_id")); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}
