package server

import (
	"bytes"
	"encoding/json"

	"github.com/gofiber/fiber/v2"

	"github.com/sesame-auth/sesame"
)

// parseBody decodes a JSON object body into v. An empty body leaves v as
// it is: endpoints whose body is optional accept none.
func parseBody(c *fiber.Ctx, v any) error {
	body := bytes.TrimSpace(c.Body())
	if len(body) == 0 {
		return nil
	}
	if body[0] != '{' {
		return sesame.Errorf(sesame.EBadRequest, "The body must be a JSON object.")
	}
	if err := json.Unmarshal(body, v); err != nil {
		return sesame.Errorf(sesame.EBadRequest, "The body is not valid JSON for this endpoint.")
	}
	return nil
}

// client describes the caller for sessions and audit.
func client(c *fiber.Ctx) sesame.Client {
	return sesame.Client{IP: c.IP(), UserAgent: sesame.ClipClientString(c.Get(fiber.HeaderUserAgent))}
}
