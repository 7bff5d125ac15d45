package faults

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/internal/testserver"
	"github.com/sesame-auth/sesame/internal/testsmtp"
)

// TestSignInMailSurvivesRelayOutage: the relay refuses connections for
// relayDown when a sign-in mail is asked for; the API still answers 202,
// and the mail arrives once when the relay is back.
func TestSignInMailSurvivesRelayOutage(t *testing.T) {
	relay := testsmtp.Start(t)
	relay.RefuseFor(relayDown)
	e := testserver.New(t, testserver.Options{SMTP: relay, Mail: testserver.FastMail})
	runClock(t, e.Clock)

	flowID := startEmail(t, e, "outage@example.com")
	m := waitMessage(t, relay, "outage@example.com", relayDown+10*time.Second)
	if relay.Refused() == 0 {
		t.Fatal("the relay refused nothing: the test proves nothing")
	}
	verify(t, e, flowID, m)
	time.Sleep(300 * time.Millisecond) // several polls: a duplicate would go out now
	if n := len(messagesTo(relay, "outage@example.com")); n != 1 {
		t.Errorf("%d messages arrived; want 1", n)
	}
	if o := outcomes(t, e); o[sesame.MailSent] != 1 || o[sesame.MailQueued] != 0 {
		t.Errorf("outbox %v; want one sent", o)
	}
	metrics := string(e.Do(t, "GET", "/metrics", nil).Body)
	for _, want := range []string{"sesame_mail_queued_total 1", "sesame_mail_sent_total 1", "sesame_mail_expired_total 0"} {
		if !strings.Contains(metrics, want+"\n") {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if !regexp.MustCompile(`sesame_mail_retried_total [1-9]`).MatchString(metrics) {
		t.Error("/metrics counts no retry")
	}
}

// TestSignInMailSurvivesRestart: the mail is accepted by one process while
// the relay is down, that process stops, and the next one on the same
// database sends it, once.
func TestSignInMailSurvivesRestart(t *testing.T) {
	relay := testsmtp.Start(t)
	relay.RefuseFor(relayDown)
	first := testserver.New(t, testserver.Options{SMTP: relay, Mail: testserver.FastMail})
	runClock(t, first.Clock)
	flowID := startEmail(t, first, "restart@example.com")
	if err := first.App.Close(); err != nil {
		t.Fatalf("stopping the first process: %v", err)
	}
	if n := len(messagesTo(relay, "restart@example.com")); n != 0 {
		t.Fatalf("%d messages before the relay came back", n)
	}

	second := testserver.New(t, testserver.Options{SMTP: relay, Mail: testserver.FastMail,
		Database: first.App.Config.Database, Secret: first.App.Config.Secret})
	runClock(t, second.Clock)
	m := waitMessage(t, relay, "restart@example.com", relayDown+10*time.Second)
	verify(t, second, flowID, m)
	time.Sleep(300 * time.Millisecond)
	if n := len(messagesTo(relay, "restart@example.com")); n != 1 {
		t.Errorf("%d messages arrived; want 1", n)
	}
}

// TestTwoInstancesSendEachMailOnce: two instances on one database and one
// relay; 200 sign-in mails asked of either arrive exactly once each,
// counted by Message-ID.
func TestTwoInstancesSendEachMailOnce(t *testing.T) {
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			relay := testsmtp.Start(t)
			a := testserver.New(t, testserver.Options{SMTP: relay, Mail: testserver.FastMail, RateLimits: "off", Postgres: engine == "postgres"})
			b := testserver.New(t, testserver.Options{SMTP: relay, Mail: testserver.FastMail, RateLimits: "off",
				Database: a.App.Config.Database, Secret: a.App.Config.Secret})
			const n = 200
			var wg sync.WaitGroup
			for w := range 4 {
				wg.Go(func() {
					for i := w; i < n; i += 4 {
						e := a
						if i%2 == 1 {
							e = b
						}
						startEmail(t, e, fmt.Sprintf("pair%d@example.com", i))
					}
				})
			}
			wg.Wait()
			deadline := time.Now().Add(30 * time.Second)
			for relay.Count() < n && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
			}
			time.Sleep(500 * time.Millisecond) // a duplicate would arrive by now
			byID := map[string]int{}
			for _, m := range relay.Messages() {
				byID[m.MessageID]++
			}
			if relay.Count() != n || len(byID) != n {
				t.Fatalf("%d messages with %d distinct Message-IDs; want %d of each", relay.Count(), len(byID), n)
			}
			for id, k := range byID {
				if k != 1 || id == "" {
					t.Errorf("Message-ID %q arrived %d times", id, k)
				}
			}
			t.Logf("sent by the two instances: %d and %d", a.App.MailStats().Sent, b.App.MailStats().Sent)
		})
	}
}

// outcomes counts e's outbox rows by status.
func outcomes(t *testing.T, e *testserver.Env) map[string]int {
	t.Helper()
	o, err := e.App.DB.MailOutcomes(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return o
}
