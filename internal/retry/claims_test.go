package retry

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
)

// TestClaimsLogOnce: an outage of the outbox is logged when it begins and
// when it ends, not at every failed or working claim.
func TestClaimsLogOnce(t *testing.T) {
	var buf bytes.Buffer
	c := &Claims{Name: "test outbox", Log: slog.New(slog.NewTextHandler(&buf, nil))}
	c.Succeeded()
	c.Failed(errors.New("db down"))
	c.Failed(errors.New("db down"))
	c.Succeeded()
	c.Succeeded()
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], "test outbox: cannot read the outbox") ||
		!strings.Contains(lines[0], "db down") || !strings.Contains(lines[1], "test outbox: the outbox can be read again") {
		t.Fatalf("log = %q; want one line when the outage begins and one when it ends", lines)
	}
}

// TestEach: every item is sent, and Each returns when all are done.
func TestEach(t *testing.T) {
	var sent atomic.Int32
	if n := Each([]int{1, 2, 3, 4}, func(i int) { sent.Add(int32(i)) }); n != 4 || sent.Load() != 10 {
		t.Fatalf("Each = %d, sent %d; want 4 and 10", n, sent.Load())
	}
}
