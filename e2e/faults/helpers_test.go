// Package faults drives Sesame through the faults of issue 16: a mail relay
// that refuses connections, a restart while mail waits, two instances
// sending from one outbox, a full SQLite disk, a PostgreSQL outage and a
// kill -9. The quick tests run in `make test`; the slow ones (build tag
// faults) in `make faults`.
package faults

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sesame-auth/sesame/internal/testserver"
	"github.com/sesame-auth/sesame/internal/testsmtp"
)

// runClock moves e's test clock with real time until the test ends, so
// retry backoffs (kept on the app clock) run out.
func runClock(t *testing.T, c *testserver.Clock) {
	t.Helper()
	done := make(chan struct{})
	stopped := make(chan struct{})
	t.Cleanup(func() { close(done); <-stopped })
	go func() {
		defer close(stopped)
		last := time.Now()
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case now := <-tick.C:
				c.Advance(now.Sub(last))
				last = now
			}
		}
	}()
}

// messagesTo returns the messages the relay took for address.
func messagesTo(srv *testsmtp.Server, address string) []testsmtp.Message {
	var out []testsmtp.Message
	for _, m := range srv.Messages() {
		for _, to := range m.To {
			if strings.EqualFold(to, address) {
				out = append(out, m)
			}
		}
	}
	return out
}

// waitMessage waits up to within for the first message to address.
func waitMessage(t *testing.T, srv *testsmtp.Server, address string, within time.Duration) testsmtp.Message {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		if ms := messagesTo(srv, address); len(ms) > 0 {
			return ms[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("no message for %s within %v (%d received in all, %d connections refused)", address, within, srv.Count(), srv.Refused())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// startEmail starts an email sign-in for address on e and returns the
// flow id.
func startEmail(t *testing.T, e *testserver.Env, address string) string {
	t.Helper()
	r := e.Do(t, "POST", "/api/email/start", map[string]string{"email": address})
	if r.Status != http.StatusAccepted {
		t.Fatalf("email start: %d %s", r.Status, r.Body)
	}
	id, _ := r.JSON(t)["flow_id"].(string)
	return id
}

// verify completes flowID with the code in m and checks a session came of it.
func verify(t *testing.T, e *testserver.Env, flowID string, m testsmtp.Message) testserver.Session {
	t.Helper()
	code := testsmtp.ExtractCode(m.Text)
	if code == "" {
		t.Fatalf("no code in the message:\n%s", m.Text)
	}
	return testserver.SessionOf(t, e.Do(t, "POST", "/api/email/verify", map[string]string{"flow_id": flowID, "code": code}))
}
