package server

import (
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"

	"github.com/sesame-auth/sesame/internal/testkit"
)

// TestPanicAnswers500AndLogsStack: a handler that panics gets a 500
// problem, the process goes on, and the log has the panic with its stack
// (issue 11, finding 15).
func TestPanicAnswers500AndLogsStack(t *testing.T) {
	logs := &testkit.LogBuffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	s := &Server{cfg: Config{Logger: log}}
	app := fiber.New(fiber.Config{ErrorHandler: errorHandler(log)})
	app.Use(s.recoverPanics)
	app.Get("/boom", func(*fiber.Ctx) error { panic("kaboom") })
	app.Get("/fine", func(c *fiber.Ctx) error { return c.SendString("ok") })

	res, err := app.Test(httptest.NewRequest("GET", "/boom", nil))
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != fiber.StatusInternalServerError {
		t.Errorf("status %d; want 500", res.StatusCode)
	}
	if res, err := app.Test(httptest.NewRequest("GET", "/fine", nil)); err != nil || res.StatusCode != fiber.StatusOK {
		t.Errorf("the next request: %v, %v", res, err)
	}
	l := logs.String()
	for _, want := range []string{"handler panicked", "kaboom", "goroutine ", "panic_test.go"} {
		if !strings.Contains(l, want) {
			t.Errorf("log lacks %q:\n%s", want, l)
		}
	}
}
