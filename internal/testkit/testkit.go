// Package testkit holds the small helpers tests across Sesame share: a
// settable clock to inject instead of time.Now, and a log buffer that
// goroutines may write to at once. It imports nothing of Sesame, so any
// package's own tests can use it.
package testkit

import (
	"bytes"
	"os"
	"sync"
	"testing"
	"time"
)

// Clock is a settable clock for expiry tests; safe for concurrent use.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock stopped at t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// LogBuffer collects log output; safe for concurrent use.
type LogBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *LogBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns everything written so far.
func (b *LogBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Missing skips a test whose dependency (a browser, node, PostgreSQL) is
// absent on a developer's machine, and fails it in CI (CI=true), where
// .ci/run installs every dependency: a security test must never pass by
// not running.
func Missing(t testing.TB, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("CI: "+format, args...)
	}
	t.Skipf(format, args...)
}
