package server

import (
	"context"
	"fmt"
	"mime"
	"runtime/debug"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/sesame-auth/sesame"
)

// contentSecurityPolicy allows only our own scripts and styles: no inline
// code, no framing (SECURITY rule 38).
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// recoverPanics turns a panic in a handler into a 500 and logs it with its
// stack, so one bad request never ends the process and the bug can be
// found.
func (s *Server) recoverPanics(c *fiber.Ctx) (err error) {
	defer func() {
		if r := recover(); r != nil {
			s.cfg.Logger.Error("handler panicked", "route", routeOf(c), "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	return c.Next()
}

// RequestTimeout bounds the work of one request: a database that does
// not answer fails it with a 503 in seconds instead of holding it.
const RequestTimeout = 10 * time.Second

// deadline gives the request's context RequestTimeout.
func (s *Server) deadline(c *fiber.Ctx) error {
	ctx, cancel := context.WithTimeout(c.UserContext(), RequestTimeout)
	defer cancel()
	c.SetUserContext(ctx)
	return c.Next()
}

// observe logs each request and records its metrics. It logs the route
// pattern, never the raw path or query, and no headers, so no secret that
// a client puts in a URL reaches the log (SECURITY rule 39).
func (s *Server) observe(c *fiber.Ctx) error {
	start := time.Now()
	err := c.Next()
	if err != nil {
		if herr := s.app.ErrorHandler(c, err); herr != nil {
			_ = c.SendStatus(fiber.StatusInternalServerError)
		}
	}
	status, route := c.Response().StatusCode(), routeOf(c)
	elapsed := time.Since(start)
	s.metrics.observe(c.Method(), route, status, elapsed)
	s.cfg.Logger.Debug("request", "method", c.Method(), "route", route, "status", status,
		"duration_ms", float64(elapsed.Microseconds())/1000, "ip", c.IP())
	return nil
}

// routeOf is the matched route pattern, or "unmatched" for unknown paths,
// which keeps metric labels bounded. (For a path no route matched, Fiber
// reports the last middleware it passed, registered with method "USE".)
func routeOf(c *fiber.Ctx) string {
	r := c.Route()
	switch {
	case strings.HasPrefix(c.Path(), "/static/"):
		return "/static/*"
	case r == nil || r.Method == "USE" || (r.Path == "/" && c.Path() != "/"):
		return "unmatched"
	}
	return r.Path
}

func (s *Server) securityHeaders(c *fiber.Ctx) error {
	h := &c.Response().Header
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	if s.secure {
		h.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
	}
	if !strings.HasPrefix(c.Path(), "/static/") {
		h.Set(fiber.HeaderCacheControl, "no-store")
	}
	return c.Next()
}

// checkOrigin refuses state-changing requests from other sites (SECURITY
// rule 37). Browsers send Origin on every POST, PATCH and DELETE, and
// Sec-Fetch-Site with it; a request with neither comes from a non-browser
// client, which carries no ambient credentials an attacker could ride on.
func (s *Server) checkOrigin(c *fiber.Ctx) error {
	switch c.Method() {
	case fiber.MethodGet, fiber.MethodHead, fiber.MethodOptions:
		return c.Next()
	}
	if isProtocolPath(c.Path()) {
		// OAuth endpoints authenticate the client itself, never by
		// cookie: another site calling them rides on nothing.
		return c.Next()
	}
	if origin := c.Get(fiber.HeaderOrigin); origin != "" {
		if origin != s.origin {
			return sesame.Errorf(sesame.EForbidden, "Requests from another origin are refused.")
		}
	} else if site := c.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" && site != "none" {
		return sesame.Errorf(sesame.EForbidden, "Requests from another site are refused.")
	}
	return c.Next()
}

// requireJSON refuses request bodies that are not JSON, which also stops
// the form posts a cross-site page could send without a preflight.
func (s *Server) requireJSON(c *fiber.Ctx) error {
	switch c.Method() {
	case fiber.MethodPost, fiber.MethodPut, fiber.MethodPatch, fiber.MethodDelete:
	default:
		return c.Next()
	}
	if len(c.Body()) == 0 || isProtocolPath(c.Path()) {
		return c.Next()
	}
	mt, _, err := mime.ParseMediaType(c.Get(fiber.HeaderContentType))
	if err != nil || mt != fiber.MIMEApplicationJSON {
		return sesame.Errorf(sesame.EBadRequest, "Send the body as application/json.")
	}
	return c.Next()
}
