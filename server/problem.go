package server

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"time"

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
	sesame.EConsentRequired:    fiber.StatusForbidden,
	sesame.EStepUpRequired:     fiber.StatusForbidden,
	sesame.EOtherBrowser:       fiber.StatusForbidden,
	sesame.EAccountMismatch:    fiber.StatusForbidden,
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
	sesame.EConsentRequired:    "Consent required",
	sesame.EStepUpRequired:     "Stronger sign-in required",
	sesame.EOtherBrowser:       "Started in another browser",
	sesame.EAccountMismatch:    "Another account",
	sesame.EUnavailable:        "Service unavailable",
	sesame.EInternal:           "Internal error",
}

// errOutage answers a request that ran out of time or lost its connection
// to the database: the client may try again (SECURITY: never a 500 for a
// fault outside Sesame; docs/deploy.md "Faults").
var errOutage = &sesame.Error{Code: sesame.EUnavailable,
	Message: "The service is briefly unavailable; try again shortly.", RetryAfter: 5 * time.Second}

// isOutage reports whether err is a timeout or a network failure that no
// store turned into a domain error: the request deadline passed
// (RequestTimeout) or a connection failed.
func isOutage(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne)
}

// outageLog logs 503s at most once per outageLogEvery, with how many were
// answered since, so an outage under load writes a few lines, not one per
// request.
type outageLog struct {
	mu         sync.Mutex
	last       time.Time
	suppressed int
}

const outageLogEvery = 10 * time.Second

func (o *outageLog) note(log *slog.Logger, err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if now := time.Now(); now.Sub(o.last) >= outageLogEvery {
		log.Warn("answering 503: a dependency is unavailable", "err", err, "more_503s_since_last_line", o.suppressed)
		o.last, o.suppressed = now, 0
		return
	}
	o.suppressed++
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
	var outage outageLog
	return func(c *fiber.Ctx, err error) error {
		var fe *fiber.Error
		var se *sesame.Error
		switch {
		case errors.As(err, &se):
		case errors.As(err, &fe):
			se = fromFiber(fe)
		}
		if (se == nil || se.Code == sesame.EInternal) && isOutage(err) {
			se = errOutage
		}
		if se != nil && se.Code == sesame.EUnavailable {
			outage.note(log, err)
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
