package server

import (
	"github.com/gofiber/fiber/v2"

	"github.com/sesame-auth/sesame/limit"
)

// limitIP counts the request against rule for the client's IP.
func (s *Server) limitIP(rule limit.Rule) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if err := s.cfg.Limits.Allow(c.UserContext(), rule, c.IP()); err != nil {
			return err
		}
		return c.Next()
	}
}
