package mail

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sesame-auth/sesame/internal/testsmtp"
)

// fakeSender fails its first failures sends, then records what it sends.
// If block is set, each Send waits for it to close or for ctx to end.
type fakeSender struct {
	mu       sync.Mutex
	failures int
	calls    int
	sent     []Message
	block    chan struct{}
	started  chan struct{} // if set, receives once per Send call
}

func (f *fakeSender) Send(ctx context.Context, m Message) error {
	if f.started != nil {
		f.started <- struct{}{}
	}
	if f.block != nil {
		select {
		case <-f.block:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.calls <= f.failures {
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

func noBackoff(int) time.Duration { return time.Millisecond }

func bufferLogger() (*slog.Logger, *syncBuffer) {
	b := &syncBuffer{}
	return slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug})), b
}

// syncBuffer is a bytes.Buffer that workers may write to concurrently.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestQueueDeliversThroughSMTP(t *testing.T) {
	srv := testsmtp.Start(t)
	s, err := NewSMTP(srv.URL(), "noreply@sesame.example")
	if err != nil {
		t.Fatal(err)
	}
	q := NewQueue(s, nil, 2, 10)
	m := SignIn(SignInData{To: "fay@example.com", Link: testLink, Code: testCode, ExpiresInMinutes: 15})
	if !q.Enqueue(m) {
		t.Fatal("Enqueue = false; want true")
	}
	got := srv.Wait(t, "fay@example.com")
	if c := testsmtp.ExtractCode(got.Text); c != testCode {
		t.Errorf("code = %q; want %q", c, testCode)
	}
	if err := q.Close(context.Background()); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if st := q.Stats(); st.Sent != 1 || st.Failed != 0 || st.Dropped != 0 {
		t.Errorf("Stats() = %+v; want 1 sent", st)
	}
}

func TestQueueRetries(t *testing.T) {
	tests := []struct {
		name                   string
		failures               int
		wantCalls, wantSent    int
		wantStatSent, wantFail uint64
	}{
		{"succeeds first time", 0, 1, 1, 1, 0},
		{"succeeds on last retry", QueueAttempts - 1, QueueAttempts, 1, 1, 0},
		{"gives up", QueueAttempts, QueueAttempts, 0, 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeSender{failures: tt.failures}
			log, buf := bufferLogger()
			q := newQueue(f, log, 1, 4, noBackoff)
			m := Message{To: "gil@example.com", Subject: "Sign in to Sesame", Text: "code 123456 secret-body", HTML: "<p>secret-body</p>"}
			if !q.Enqueue(m) {
				t.Fatal("Enqueue = false; want true")
			}
			if err := q.Close(context.Background()); err != nil {
				t.Fatalf("Close: %v", err)
			}
			if calls, sent := f.counts(); calls != tt.wantCalls || sent != tt.wantSent {
				t.Errorf("Send called %d times, delivered %d; want %d, %d", calls, sent, tt.wantCalls, tt.wantSent)
			}
			if st := q.Stats(); st.Sent != tt.wantStatSent || st.Failed != tt.wantFail {
				t.Errorf("Stats() = %+v; want Sent %d, Failed %d", st, tt.wantStatSent, tt.wantFail)
			}
			logs := buf.String()
			if tt.failures > 0 && !strings.Contains(logs, "gil@example.com") {
				t.Errorf("failures not logged with the recipient:\n%s", logs)
			}
			if strings.Contains(logs, "secret-body") || strings.Contains(logs, "123456") {
				t.Errorf("log holds the body:\n%s", logs)
			}
		})
	}
}

func TestQueueCloseDrains(t *testing.T) {
	f := &fakeSender{}
	q := newQueue(f, nil, 3, 100, noBackoff)
	for i := range 50 {
		if !q.Enqueue(Message{To: "hal@example.com", Subject: string(rune('a' + i%26))}) {
			t.Fatalf("Enqueue #%d = false; want true", i)
		}
	}
	if err := q.Close(context.Background()); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, sent := f.counts(); sent != 50 {
		t.Errorf("sent %d before Close returned; want 50", sent)
	}
	if q.Enqueue(Message{To: "hal@example.com"}) {
		t.Error("Enqueue after Close = true; want false")
	}
	if err := q.Close(context.Background()); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestQueueFull(t *testing.T) {
	f := &fakeSender{block: make(chan struct{}), started: make(chan struct{}, 10)}
	log, buf := bufferLogger()
	q := newQueue(f, log, 1, 1, noBackoff)

	enqueue := func(subject string) bool {
		return q.Enqueue(Message{To: "ivy@example.com", Subject: subject, Text: "secret-body"})
	}
	if !enqueue("one") {
		t.Fatal("Enqueue(one) = false; want true")
	}
	<-f.started // the worker holds "one"
	if !enqueue("two") {
		t.Fatal("Enqueue(two) = false; want true: it fills the buffer")
	}
	start := time.Now()
	if enqueue("three") {
		t.Fatal("Enqueue(three) = true; want false: the queue is full")
	}
	if d := time.Since(start); d > 100*time.Millisecond {
		t.Errorf("Enqueue on a full queue took %v; want it not to block", d)
	}
	if st := q.Stats(); st.Dropped != 1 || st.Queued != 1 {
		t.Errorf("Stats() = %+v; want Dropped 1, Queued 1", st)
	}
	if logs := buf.String(); !strings.Contains(logs, "queue full") || !strings.Contains(logs, "level=ERROR") || strings.Contains(logs, "secret-body") {
		t.Errorf("log = %q; want an error about a full queue, without the body", logs)
	}

	close(f.block)
	if err := q.Close(context.Background()); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, sent := f.counts(); sent != 2 {
		t.Errorf("sent %d; want 2", sent)
	}
}

func TestQueueCloseGivesUpAtDeadline(t *testing.T) {
	f := &fakeSender{block: make(chan struct{})} // never unblocked: Send ends with its ctx
	q := newQueue(f, nil, 1, 10, noBackoff)
	for range 3 {
		q.Enqueue(Message{To: "jo@example.com"})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := q.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Close = %v; want %v", err, context.DeadlineExceeded)
	}
	// The worker abandons what is left once its context is canceled.
	deadline := time.Now().Add(5 * time.Second)
	for q.Stats().Failed != 3 {
		if time.Now().After(deadline) {
			t.Fatalf("Stats() = %+v; want 3 failed", q.Stats())
		}
		time.Sleep(5 * time.Millisecond)
	}
}
