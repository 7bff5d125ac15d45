package server

import (
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/sesame-auth/sesame"
)

type activityJSON struct {
	At        time.Time `json:"at"`
	Event     string    `json:"event"`
	Result    string    `json:"result"`
	Method    string    `json:"method,omitempty"`
	IP        string    `json:"ip"`
	UserAgent string    `json:"user_agent"`
}

// myActivity shows users their own recent sign-ins and security changes.
func (s *Server) myActivity(c *fiber.Ctx) error {
	events, err := s.cfg.Audit.Recent(c.UserContext(), claimsOf(c).Subject, 50)
	if err != nil {
		return err
	}
	out := make([]activityJSON, 0, len(events))
	for _, e := range events {
		out = append(out, activityJSON{At: e.At, Event: e.Event, Result: e.Result, Method: e.Method, IP: e.IP, UserAgent: e.UserAgent})
	}
	return c.JSON(fiber.Map{"events": out})
}

// record adds an audit event about the request's client.
func (s *Server) record(c *fiber.Ctx, e sesame.AuditEvent) {
	cl := client(c)
	e.IP, e.UserAgent = cl.IP, cl.UserAgent
	s.cfg.Audit.Record(c.UserContext(), e)
}
