//go:build faults

package faults

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sesame-auth/sesame/internal/testserver"
	"github.com/sesame-auth/sesame/internal/testsmtp"
)

// outageLoad signs people in, in a loop, from several goroutines, and
// records every answer.
type outageLoad struct {
	e     *testserver.Env
	relay *testsmtp.Server

	mu       sync.Mutex
	statuses map[int]int
	slowest  time.Duration
	no503RA  int         // 503s without Retry-After
	signIns  []time.Time // when each sign-in that completed had started
	seq      atomic.Int64
}

func (l *outageLoad) do(t *testing.T, method, path string, body any) testserver.Response {
	start := time.Now()
	r := l.e.Do(t, method, path, body)
	d := time.Since(start)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.statuses[r.Status]++
	l.slowest = max(l.slowest, d)
	if r.Status == http.StatusServiceUnavailable && r.Header.Get("Retry-After") == "" {
		l.no503RA++
	}
	return r
}

// signIn runs one sign-in; a verify refused with 503 is tried again until
// it is answered, and must then succeed: the refused try changed nothing.
func (l *outageLoad) signIn(t *testing.T) {
	began := time.Now()
	address := fmt.Sprintf("load%d@example.com", l.seq.Add(1))
	r := l.do(t, "POST", "/api/email/start", map[string]string{"email": address})
	if r.Status != http.StatusAccepted {
		time.Sleep(50 * time.Millisecond)
		return
	}
	flowID, _ := r.JSON(t)["flow_id"].(string)
	var m testsmtp.Message
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if ms := messagesTo(l.relay, address); len(ms) > 0 {
			m = ms[0]
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("no mail for %s, accepted at %v, within 60 s", address, began.Format("15:04:05.000"))
			return
		}
	}
	body := map[string]string{"flow_id": flowID, "code": testsmtp.ExtractCode(m.Text)}
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		r = l.do(t, "POST", "/api/email/verify", body)
		if r.Status == http.StatusOK {
			l.mu.Lock()
			l.signIns = append(l.signIns, began)
			l.mu.Unlock()
			return
		}
		if r.Status != http.StatusServiceUnavailable || time.Now().After(deadline) {
			t.Errorf("verify of %s: %d %s; want 200 once the database answers", address, r.Status, r.Body)
			return
		}
	}
}

// TestPostgresOutage: PostgreSQL is stopped for 10 s under a load of
// sign-ins. Every answer is 200/202 or 503 with Retry-After, none takes
// more than a few seconds, /readyz says not ready meanwhile, and sign-ins
// succeed again within 5 s of the database's return, without a restart.
func TestPostgresOutage(t *testing.T) {
	pg := startPG(t)
	relay := testsmtp.Start(t)
	e := testserver.New(t, testserver.Options{Database: pg.URL(), SMTP: relay, RateLimits: "off", Mail: testserver.FastMail})
	runClock(t, e.Clock)
	l := &outageLoad{e: e, relay: relay, statuses: map[int]int{}}

	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
					l.signIn(t)
				}
			}
		})
	}
	time.Sleep(2 * time.Second)
	pg.Stop(t)
	down := time.Now()
	time.Sleep(2 * time.Second)
	if r := e.Do(t, "GET", "/readyz", nil); r.Status != http.StatusServiceUnavailable || r.Header.Get("Retry-After") == "" {
		t.Errorf("/readyz with the database down: %d %v", r.Status, r.Header)
	}
	time.Sleep(time.Until(down.Add(10 * time.Second)))
	pg.Start(t)
	up := time.Now()
	var back time.Duration
	for back == 0 && time.Since(up) < 30*time.Second {
		time.Sleep(50 * time.Millisecond)
		l.mu.Lock()
		for _, began := range l.signIns {
			if began.After(up) {
				back = time.Since(up)
				break
			}
		}
		l.mu.Unlock()
	}
	time.Sleep(2 * time.Second)
	close(stop)
	wg.Wait()

	if r := e.Do(t, "GET", "/readyz", nil); r.Status != http.StatusOK {
		t.Errorf("/readyz after the database's return: %d", r.Status)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	t.Logf("statuses %v, slowest answer %v, %d sign-ins, first sign-in begun after the restart done %v after it", l.statuses, l.slowest, len(l.signIns), back)
	for status := range l.statuses {
		if status != http.StatusOK && status != http.StatusAccepted && status != http.StatusServiceUnavailable {
			t.Errorf("status %d seen %d times; want only 200, 202 and 503", status, l.statuses[status])
		}
	}
	if l.statuses[http.StatusServiceUnavailable] == 0 {
		t.Error("no 503 during the outage: the test proves nothing")
	}
	if l.no503RA > 0 {
		t.Errorf("%d answers of 503 without Retry-After", l.no503RA)
	}
	if l.slowest > 6*time.Second {
		t.Errorf("the slowest answer took %v; want a few seconds at most", l.slowest)
	}
	if strings.Contains(e.Logs(), `msg="internal error"`) {
		t.Error("internal errors were logged during the outage")
	}
	if back == 0 || back > 5*time.Second {
		t.Errorf("sign-ins came back %v after the database; want within 5 s", back)
	}
}
