package mail

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/db"
	"github.com/sesame-auth/sesame/db/dbtest"
	"github.com/sesame-auth/sesame/internal/testkit"
	"github.com/sesame-auth/sesame/internal/testsmtp"
)

var testKey = bytes.Repeat([]byte{9}, 32)

// fakeSender fails its first failures sends (or panics on them, with
// panics set), then records what it sends.
type fakeSender struct {
	mu       sync.Mutex
	failures int
	panics   bool
	calls    int
	sent     []Message
}

func (f *fakeSender) Send(_ context.Context, m Message) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.calls <= f.failures {
		if f.panics {
			panic("sender bug")
		}
		return errors.New("451 try again later")
	}
	f.sent = append(f.sent, m)
	return nil
}

func (f *fakeSender) counts() (calls, sent int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls, len(f.sent)
}

func bufferLogger() (*slog.Logger, *testkit.LogBuffer) {
	b := &testkit.LogBuffer{}
	return slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug})), b
}

// fastConfig is a queue that polls and retries within milliseconds.
func fastConfig(store Store, s Sender, log *slog.Logger, now func() time.Time) QueueConfig {
	return QueueConfig{
		Store: store, Sender: s, Key: testKey, Domain: "sesame.example", Log: log, Now: now,
		Poll: 10 * time.Millisecond, FirstBackoff: 20 * time.Millisecond, MaxBackoff: 80 * time.Millisecond,
		Lease: 30 * time.Second, // never runs out in these tests, however slow the machine
	}
}

func startQueue(t *testing.T, cfg QueueConfig) *Queue {
	t.Helper()
	q, err := NewQueue(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = q.Close(context.Background()) })
	return q
}

// waitFor polls cond for up to 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func outcomes(t *testing.T, d *db.DB) map[string]int {
	t.Helper()
	o, err := d.MailOutcomes(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// queueSignIn stores a sign-in draft the way magiclink does: prepared,
// queued by the store, announced.
func queueSignIn(t *testing.T, q *Queue, d *db.DB, to string, expires time.Time) sesame.QueuedMail {
	t.Helper()
	m, err := q.Prepare(SignIn(SignInData{To: to, Link: testLink, Code: testCode, ExpiresInMinutes: 15}), expires)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.QueueMail(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	q.Queued(1)
	return m
}

func TestQueueDeliversThroughSMTPWithStableMessageID(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		srv := testsmtp.Start(t)
		s, err := NewSMTP(srv.URL(), "noreply@sesame.example")
		if err != nil {
			t.Fatal(err)
		}
		log, logs := bufferLogger()
		q := startQueue(t, fastConfig(d, s, log, time.Now))
		m := queueSignIn(t, q, d, "fay@example.com", time.Now().Add(time.Hour))
		if !q.Enqueue(Notice("fay@example.com", NoticePasswordSet, NoticeData{})) {
			t.Fatal("Enqueue = false")
		}
		var got []testsmtp.Message
		for range 2 {
			got = append(got, srv.Wait(t, "fay@example.com"))
		}
		var signIn testsmtp.Message
		for _, g := range got {
			if testsmtp.ExtractCode(g.Text) == testCode {
				signIn = g
			}
		}
		if want := "<" + m.ID + "@sesame.example>"; signIn.MessageID != want {
			t.Errorf("Message-ID = %q; want %q", signIn.MessageID, want)
		}
		waitFor(t, "both rows sent", func() bool { return outcomes(t, d)[sesame.MailSent] == 2 })
		if st := q.Stats(); st.Queued != 2 || st.Sent != 2 || st.Retried != 0 {
			t.Errorf("Stats() = %+v; want 2 queued, 2 sent", st)
		}
		if l := logs.String(); strings.Contains(l, testCode) || strings.Contains(l, "Zm9v") {
			t.Errorf("log holds the body:\n%s", l)
		}
	})
}

// TestQueueSealsDrafts: the outbox row holds neither the code nor the link
// while it waits, and nothing of the message once sent.
func TestQueueSealsDrafts(t *testing.T) {
	d := dbtest.SQLite(t)
	f := &fakeSender{failures: 1 << 30}
	q := startQueue(t, fastConfig(d, f, nil, time.Now))
	m, err := q.Prepare(SignIn(SignInData{To: "sam@example.com", Link: testLink, Code: testCode, ExpiresInMinutes: 15}), time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{testCode, "Zm9vYmFy", "sign in"} {
		if bytes.Contains(m.Payload, []byte(secret)) {
			t.Errorf("payload holds %q", secret)
		}
	}
	// Bound to its id: a payload moved to another row does not open.
	if _, err := q.seal.open("another-id", m.Payload); err == nil {
		t.Error("payload opened under another id")
	}
	plain, err := q.seal.open(m.ID, m.Payload)
	if err != nil {
		t.Fatal(err)
	}
	back, err := decodeDraft(plain)
	if err != nil {
		t.Fatal(err)
	}
	if msg, err := back.Render(); err != nil || testsmtp.ExtractCode(msg.Text) != testCode {
		t.Errorf("round trip: %v, %q", err, msg.Text)
	}
}

// TestQueueRetriesUntilRelayAccepts: a relay that refuses connections for
// a while, then accepts, gets the message once.
func TestQueueRetriesUntilRelayAccepts(t *testing.T) {
	d := dbtest.SQLite(t)
	srv := testsmtp.Start(t)
	srv.RefuseFor(time.Second)
	s, err := NewSMTP(srv.URL(), "noreply@sesame.example")
	if err != nil {
		t.Fatal(err)
	}
	log, logs := bufferLogger()
	q := startQueue(t, fastConfig(d, s, log, time.Now))
	queueSignIn(t, q, d, "ray@example.com", time.Now().Add(time.Hour))
	got := srv.Wait(t, "ray@example.com")
	if testsmtp.ExtractCode(got.Text) != testCode {
		t.Errorf("message text %q lacks the code", got.Text)
	}
	waitFor(t, "the row sent", func() bool { return outcomes(t, d)[sesame.MailSent] == 1 })
	time.Sleep(100 * time.Millisecond) // several polls: nothing more goes out
	if n := srv.Count(); n != 1 {
		t.Errorf("relay received %d messages; want 1", n)
	}
	st := q.Stats()
	if srv.Refused() == 0 || st.Retried == 0 || st.Sent != 1 {
		t.Errorf("refused %d, Stats() = %+v; want refusals, retries and one sent", srv.Refused(), st)
	}
	if !strings.Contains(logs.String(), "mail send failed") || strings.Contains(logs.String(), testCode) {
		t.Errorf("log lacks the failures or holds the body:\n%s", logs)
	}
}

// TestQueueExpiresUnsentMail: a message the relay never takes is tried
// with growing waits until its expiry, then given up and wiped.
func TestQueueExpiresUnsentMail(t *testing.T) {
	d := dbtest.SQLite(t)
	clock := testkit.NewClock(time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC))
	f := &fakeSender{failures: 1 << 30}
	log, logs := bufferLogger()
	q := startQueue(t, fastConfig(d, f, log, clock.Now))
	queueSignIn(t, q, d, "exp@example.com", clock.Now().Add(time.Second))
	waitFor(t, "a first try", func() bool { c, _ := f.counts(); return c >= 1 })
	// Each retry waits its backoff on the clock: advance it past expiry.
	for outcomes(t, d)[sesame.MailExpired] != 1 {
		clock.Advance(50 * time.Millisecond)
		time.Sleep(5 * time.Millisecond)
		if clock.Now().After(time.Date(2026, 11, 24, 12, 1, 0, 0, time.UTC)) {
			t.Fatalf("not expired a minute on; outcomes %v", outcomes(t, d))
		}
	}
	calls, _ := f.counts()
	if st := q.Stats(); st.Expired != 1 || st.Sent != 0 || st.Retried == 0 || calls < 2 {
		t.Errorf("Stats() = %+v after %d tries; want retries, then 1 expired", st, calls)
	}
	if !strings.Contains(logs.String(), "giving up") {
		t.Errorf("log does not say it gave up:\n%s", logs)
	}
}

// TestQueueBackoffGrows: waits double from FirstBackoff up to MaxBackoff,
// within the jitter.
func TestQueueBackoffGrows(t *testing.T) {
	q := &Queue{cfg: QueueConfig{FirstBackoff: time.Second, MaxBackoff: 8 * time.Second}}
	for _, tt := range []struct {
		attempt int
		want    time.Duration
	}{{1, time.Second}, {2, 2 * time.Second}, {3, 4 * time.Second}, {4, 8 * time.Second}, {9, 8 * time.Second}} {
		for range 20 {
			if got := q.backoff(tt.attempt); got < tt.want*8/10 || got > tt.want*12/10 {
				t.Errorf("backoff(%d) = %v; want %v ± 20 %%", tt.attempt, got, tt.want)
			}
		}
	}
}

// TestQueueBadDraftFailsAlone: a draft that cannot render (a bug) is
// logged and given up; the process lives and other mail goes out.
func TestQueueBadDraftFailsAlone(t *testing.T) {
	d := dbtest.SQLite(t)
	f := &fakeSender{}
	log, logs := bufferLogger()
	q := startQueue(t, fastConfig(d, f, log, time.Now))
	if !q.Enqueue(Notice("bad@example.com", NoticeKind("no_such_kind"), NoticeData{})) {
		t.Fatal("Enqueue = false")
	}
	queueSignIn(t, q, d, "good@example.com", time.Now().Add(time.Hour))
	waitFor(t, "one failed, one sent", func() bool {
		o := outcomes(t, d)
		return o[sesame.MailFailed] == 1 && o[sesame.MailSent] == 1
	})
	if _, sent := f.counts(); sent != 1 {
		t.Errorf("sent %d; want 1", sent)
	}
	if st := q.Stats(); st.Failed != 1 {
		t.Errorf("Stats() = %+v; want 1 failed", st)
	}
	if l := logs.String(); !strings.Contains(l, "cannot render") || !strings.Contains(l, "no_such_kind") {
		t.Errorf("log does not explain the failure:\n%s", l)
	}
}

// TestQueueRecoversPanics: a panic while sending is logged with its stack
// and the message tried again, without ending the process (issue 11,
// finding 15).
func TestQueueRecoversPanics(t *testing.T) {
	d := dbtest.SQLite(t)
	f := &fakeSender{failures: 1, panics: true}
	log, logs := bufferLogger()
	q := startQueue(t, fastConfig(d, f, log, time.Now))
	queueSignIn(t, q, d, "pan@example.com", time.Now().Add(time.Hour))
	waitFor(t, "the retry sent", func() bool { return outcomes(t, d)[sesame.MailSent] == 1 })
	l := logs.String()
	if !strings.Contains(l, "mail worker panicked") || !strings.Contains(l, "sender bug") || !strings.Contains(l, "goroutine") {
		t.Errorf("log lacks the panic and its stack:\n%s", l)
	}
	if calls, sent := f.counts(); calls != 2 || sent != 1 {
		t.Errorf("Send called %d times, sent %d; want 2, 1", calls, sent)
	}
}

// TestQueueWarnsWhileRelayDown: after a minute of failures the queue warns
// that the relay is down; a success ends the alarm.
func TestQueueWarnsWhileRelayDown(t *testing.T) {
	d := dbtest.SQLite(t)
	clock := testkit.NewClock(time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC))
	f := &fakeSender{failures: 1 << 30}
	log, logs := bufferLogger()
	q := startQueue(t, fastConfig(d, f, log, clock.Now))
	queueSignIn(t, q, d, "down@example.com", clock.Now().Add(time.Hour))
	waitFor(t, "a first try", func() bool { c, _ := f.counts(); return c >= 1 })
	if strings.Contains(logs.String(), "mail relay failing") {
		t.Fatal("warned after the first failure")
	}
	for !strings.Contains(logs.String(), "mail relay failing") {
		if clock.Now().After(time.Date(2026, 11, 24, 12, 5, 0, 0, time.UTC)) {
			t.Fatalf("no warning after 5 minutes of failures:\n%s", logs)
		}
		clock.Advance(time.Second)
		time.Sleep(2 * time.Millisecond)
	}
	f.mu.Lock()
	f.failures = 0
	f.mu.Unlock()
	for outcomes(t, d)[sesame.MailSent] != 1 {
		clock.Advance(time.Second)
		time.Sleep(2 * time.Millisecond)
	}
	waitFor(t, "the all-clear", func() bool { return strings.Contains(logs.String(), "mail relay accepts messages again") })
}

// TestQueueTwoInstancesSendOnce: two queues on one database (as two
// instances) send each of 200 messages exactly once.
func TestQueueTwoInstancesSendOnce(t *testing.T) {
	run := func(t *testing.T, a, b *db.DB) {
		f := &fakeSender{}
		qa := startQueue(t, fastConfig(a, f, nil, time.Now))
		qb := startQueue(t, fastConfig(b, f, nil, time.Now))
		const n = 200
		for i := range n {
			q, d := qa, a
			if i%2 == 1 {
				q, d = qb, b
			}
			queueSignIn(t, q, d, fmt.Sprintf("u%d@example.com", i), time.Now().Add(time.Hour))
		}
		waitFor(t, "every message", func() bool { _, sent := f.counts(); return sent >= n })
		time.Sleep(200 * time.Millisecond) // a duplicate would arrive by now
		f.mu.Lock()
		defer f.mu.Unlock()
		seen := map[string]int{}
		for _, m := range f.sent {
			seen[m.ID]++
		}
		if len(f.sent) != n || len(seen) != n {
			t.Errorf("%d sends of %d distinct messages; want %d of %d", len(f.sent), len(seen), n, n)
		}
		if sa, sb := qa.Stats().Sent, qb.Stats().Sent; sa == 0 || sb == 0 {
			t.Logf("one instance sent everything (%d, %d)", sa, sb)
		}
	}
	t.Run("sqlite", func(t *testing.T) {
		path := "sqlite:" + t.TempDir() + "/shared.db"
		run(t, openDB(t, path), openDB(t, path))
	})
	t.Run("postgres", func(t *testing.T) {
		base := dbtest.PostgresURL(t)
		url := dbtest.CreateSchema(t, base)
		run(t, openDB(t, url), openDB(t, url))
	})
}

func openDB(t *testing.T, url string) *db.DB {
	t.Helper()
	d, err := db.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	if err := d.Migrate(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	return d
}

// TestQueueLeaseOutlivesDeadWorker: a message claimed by a worker that
// stops mid-send (a crash) is sent by another once the lease ends, with the
// same Message-ID.
func TestQueueLeaseOutlivesDeadWorker(t *testing.T) {
	d := dbtest.SQLite(t)
	clock := testkit.NewClock(time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC))
	now := clock.Now()
	m, err := (&Queue{seal: mustSealer(t), cfg: QueueConfig{Now: clock.Now}}).Prepare(
		SignIn(SignInData{To: "crash@example.com", Link: testLink, Code: testCode, ExpiresInMinutes: 15}), now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if err := d.QueueMail(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	// The dead worker's claim: leased for a minute, never finished.
	if got, err := d.ClaimMail(context.Background(), now, now.Add(time.Minute), 10); err != nil || len(got) != 1 {
		t.Fatalf("ClaimMail = %d rows, %v", len(got), err)
	}
	f := &fakeSender{}
	startQueue(t, fastConfig(d, f, nil, clock.Now))
	time.Sleep(100 * time.Millisecond) // several polls
	if _, sent := f.counts(); sent != 0 {
		t.Fatal("sent while another worker held the lease")
	}
	clock.Advance(time.Minute)
	waitFor(t, "the message sent after the lease", func() bool { _, sent := f.counts(); return sent == 1 })
	if got := f.sent[0].ID; got != m.ID+"@sesame.example" {
		t.Errorf("Message-ID %q; want %q", got, m.ID+"@sesame.example")
	}
}

func mustSealer(t *testing.T) sealer {
	s, err := newSealer(testKey)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestNewQueueNeedsStoreSenderKey(t *testing.T) {
	d := dbtest.SQLite(t)
	for name, cfg := range map[string]QueueConfig{
		"no store":  {Sender: &fakeSender{}, Key: testKey},
		"no sender": {Store: d, Key: testKey},
		"short key": {Store: d, Sender: &fakeSender{}, Key: []byte("short")},
	} {
		if q, err := NewQueue(cfg); err == nil {
			_ = q.Close(context.Background())
			t.Errorf("%s: NewQueue succeeded", name)
		}
	}
}
