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

// limitAddress counts a request about email against rules: the ceilings
// (CodesPerAddressCeiling, EmailStartPerAddressCeiling) per address, the
// others per (address, IP), so that requests from one IP cannot use up
// the owner's (SECURITY rule 56). The ceilings are counted last: a request
// its own IP may not make does not count against them.
func (s *Server) limitAddress(c *fiber.Ctx, email string, rules ...limit.Rule) error {
	var ceilings []limit.Rule
	for _, rule := range rules {
		if rule == limit.CodesPerAddressCeiling || rule == limit.EmailStartPerAddressCeiling {
			ceilings = append(ceilings, rule)
			continue
		}
		if err := s.cfg.Limits.Allow(c.UserContext(), rule, limit.AddressFrom(email, c.IP())); err != nil {
			return err
		}
	}
	for _, rule := range ceilings {
		if err := s.cfg.Limits.Allow(c.UserContext(), rule, email); err != nil {
			return err
		}
	}
	return nil
}
