package server

import (
	"errors"
	"log/slog"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/sesame-auth/sesame"
)

// statusOf maps every error code to its HTTP status: the one place where
// domain errors meet HTTP.
var statusOf = map[string]int{
	sesame.EBadRequest:         fiber.StatusBadRequest,
	sesame.EUnauthorized:       fiber.StatusUnauthorized,
	sesame.EForbidden:          fiber.StatusForbidden,
	sesame.ENotFound:           fiber.StatusNotFound,
	sesame.EConflict:           fiber.StatusConflict,
	sesame.EInvalidCode:        fiber.StatusBadRequest,
	sesame.EExpired:            fiber.StatusGone,
	sesame.EUsed:               fiber.StatusGone,
	sesame.EInvalidCredentials: fiber.StatusUnauthorized,
	sesame.ECeremonyFailed:     fiber.StatusBadRequest,
	sesame.ERateLimited:        fiber.StatusTooManyRequests,
	sesame.ETooLarge:           fiber.StatusRequestEntityTooLarge,
	sesame.EReauthRequired:     fiber.StatusForbidden,
	sesame.EAccountDisabled:    fiber.StatusForbidden,
	sesame.EUnavailable:        fiber.StatusServiceUnavailable,
	sesame.EInternal:           fiber.StatusInternalServerError,
}

// titleOf is the short, fixed summary of each code (RFC 9457 §3.1.3).
var titleOf = map[string]string{
	sesame.EBadRequest:         "Bad request",
	sesame.EUnauthorized:       "Unauthorized",
	sesame.EForbidden:          "Forbidden",
	sesame.ENotFound:           "Not found",
	sesame.EConflict:           "Conflict",
	sesame.EInvalidCode:        "Invalid code",
	sesame.EExpired:            "Expired",
	sesame.EUsed:               "Already used",
	sesame.EInvalidCredentials: "Invalid credentials",
	sesame.ECeremonyFailed:     "Ceremony failed",
	sesame.ERateLimited:        "Too many requests",
	sesame.ETooLarge:           "Request too large",
	sesame.EReauthRequired:     "Recent sign-in required",
	sesame.EAccountDisabled:    "Account disabled",
	sesame.EUnavailable:        "Service unavailable",
	sesame.EInternal:           "Internal error",
}

// fromFiber gives Fiber's own errors (unknown route, body over the limit,
// headers too large, …) a code.
func fromFiber(fe *fiber.Error) *sesame.Error {
	switch fe.Code {
	case fiber.StatusNotFound:
		return sesame.Errorf(sesame.ENotFound, "No such page or endpoint.")
	case fiber.StatusRequestEntityTooLarge:
		return sesame.Errorf(sesame.ETooLarge, "The request body is over the 64 KiB limit.")
	case fiber.StatusRequestHeaderFieldsTooLarge:
		return sesame.Errorf(sesame.ETooLarge, "The request headers are too large.")
	case fiber.StatusMethodNotAllowed:
		return sesame.Errorf(sesame.EBadRequest, "Method not allowed.")
	case fiber.StatusRequestTimeout:
		return sesame.Errorf(sesame.EBadRequest, "The request took too long.")
	}
	if fe.Code >= 500 {
		return nil
	}
	return sesame.Errorf(sesame.EBadRequest, "The request could not be read.")
}

// errorHandler is fiber.Config.ErrorHandler: every error a handler returns
// becomes an RFC 9457 problem here. Internal errors are logged and shown
// only as a generic message.
func errorHandler(log *slog.Logger) fiber.ErrorHandler {
	return func(c *fiber.Ctx, err error) error {
		var fe *fiber.Error
		var se *sesame.Error
		switch {
		case errors.As(err, &se):
		case errors.As(err, &fe):
			se = fromFiber(fe)
		}
		if se == nil || sesame.ErrorCode(se) == sesame.EInternal {
			log.Error("internal error", "method", c.Method(), "route", routeOf(c), "err", err)
			se = sesame.Errorf(sesame.EInternal, "Something went wrong on our side.")
		}
		status, ok := statusOf[se.Code]
		if !ok {
			status = fiber.StatusInternalServerError
		}
		if se.RetryAfter > 0 {
			c.Set(fiber.HeaderRetryAfter, strconv.Itoa(int((se.RetryAfter+999_999_999)/1_000_000_000)))
		}
		body := map[string]any{
			"type":   "urn:sesame:problem:" + se.Code,
			"title":  titleOf[se.Code],
			"status": status,
			"detail": se.Message,
			"code":   se.Code,
		}
		for k, v := range se.Extra {
			if _, taken := body[k]; !taken {
				body[k] = v
			}
		}
		c.Set(fiber.HeaderCacheControl, "no-store")
		c.Status(status)
		if err := c.JSON(body); err != nil {
			return err
		}
		c.Set(fiber.HeaderContentType, "application/problem+json")
		return nil
	}
}
