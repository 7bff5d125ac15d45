package server

import (
	"context"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/sesame-auth/sesame"
)

func (s *Server) healthz(c *fiber.Ctx) error {
	return c.JSON(fiber.Map{"status": "ok"})
}

func (s *Server) readyz(c *fiber.Ctx) error {
	ctx, cancel := context.WithTimeout(c.UserContext(), 2*time.Second)
	defer cancel()
	if err := s.cfg.DB.Ping(ctx); err != nil {
		s.cfg.Logger.Warn("not ready", "err", err)
		return &sesame.Error{Code: sesame.EUnavailable, Message: "The database does not answer.", RetryAfter: 5 * time.Second}
	}
	return c.JSON(fiber.Map{"status": "ready"})
}

func (s *Server) jwks(c *fiber.Ctx) error {
	body, err := s.cfg.Keys.JWKS(c.UserContext())
	if err != nil {
		return err
	}
	// Verifiers may cache the set briefly; a rotation keeps the old key
	// published for longer than this.
	c.Set(fiber.HeaderCacheControl, "public, max-age=60")
	c.Set(fiber.HeaderContentType, "application/jwk-set+json")
	return c.Send(body)
}

func (s *Server) openIDConfiguration(c *fiber.Ctx) error {
	c.Set(fiber.HeaderCacheControl, "public, max-age=300")
	return c.JSON(fiber.Map{
		"issuer":                                s.cfg.PublicURL,
		"jwks_uri":                              s.cfg.PublicURL + "/.well-known/jwks.json",
		"id_token_signing_alg_values_supported": []string{"ES256"},
		"claims_supported":                      []string{"iss", "sub", "aud", "exp", "iat", "jti", "sid", "auth_time", "amr"},
	})
}
