package server

import (
	"github.com/gofiber/fiber/v2"

	"github.com/sesame-auth/sesame/limit"
)

// limitIP counts the request against rule for the client's IP, in
// memory: the counts reach the database in one batch every
// limit.FlushEvery, not one commit per request (docs/performance.md).
func (s *Server) limitIP(rule limit.Rule) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if err := s.cfg.Limits.AllowBatched(c.UserContext(), rule, c.IP()); err != nil {
			return err
		}
		return c.Next()
	}
}
