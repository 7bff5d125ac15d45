package mail

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestOutboxKeepsNewestFifty(t *testing.T) {
	tests := []struct {
		sends, wantLen int
	}{
		{0, 0},
		{1, 1},
		{OutboxSize, OutboxSize},
		{OutboxSize + 13, OutboxSize},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.sends), func(t *testing.T) {
			o := NewOutbox(nil)
			base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			n := 0
			o.now = func() time.Time { n++; return base.Add(time.Duration(n) * time.Second) }
			for i := 1; i <= tt.sends; i++ {
				if err := o.Send(context.Background(), Message{To: "kim@example.com", Subject: fmt.Sprint(i)}); err != nil {
					t.Fatal(err)
				}
			}
			got := o.Messages()
			if len(got) != tt.wantLen {
				t.Fatalf("len(Messages()) = %d; want %d", len(got), tt.wantLen)
			}
			for i, e := range got {
				want := tt.sends - i // newest first
				if e.Subject != fmt.Sprint(want) || !e.SentAt.Equal(base.Add(time.Duration(want)*time.Second)) {
					t.Errorf("Messages()[%d] = %q at %v; want %q at %v", i, e.Subject, e.SentAt, fmt.Sprint(want), base.Add(time.Duration(want)*time.Second))
				}
			}
		})
	}
}

func TestOutboxLogsNoBody(t *testing.T) {
	log, buf := bufferLogger()
	o := NewOutbox(log)
	m := mustRender(t, SignIn(SignInData{To: "lee@example.com", Link: testLink, Code: testCode, ExpiresInMinutes: 15}))
	if err := o.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	logs := buf.String()
	for _, want := range []string{"lee@example.com", m.Subject, "/dev/outbox"} {
		if !strings.Contains(logs, want) {
			t.Errorf("log does not name %q:\n%s", want, logs)
		}
	}
	for _, secret := range []string{testCode, testLink, "Zm9vYmFy", "expire"} {
		if strings.Contains(logs, secret) {
			t.Errorf("log holds %q from the body:\n%s", secret, logs)
		}
	}
	if n := strings.Count(logs, "\n"); n != 1 {
		t.Errorf("%d log lines; want 1:\n%s", n, logs)
	}
}

func TestOutboxConcurrent(t *testing.T) {
	o := NewOutbox(nil)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 20 {
				_ = o.Send(context.Background(), Message{To: "m@example.com", Subject: fmt.Sprint(i, j)})
				_ = o.Messages()
			}
		})
	}
	wg.Wait()
	if got := len(o.Messages()); got != OutboxSize {
		t.Errorf("len(Messages()) = %d; want %d", got, OutboxSize)
	}
}
