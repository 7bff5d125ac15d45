package magiclink_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/db"
	"github.com/sesame-auth/sesame/db/dbtest"
	"github.com/sesame-auth/sesame/internal/testkit"
	"github.com/sesame-auth/sesame/internal/testsmtp"
	"github.com/sesame-auth/sesame/magiclink"
	"github.com/sesame-auth/sesame/mail"
	"github.com/sesame-auth/sesame/signin"
)

// outbox is a hand-written Sender behind a real mail.Queue: it keeps what
// the queue's workers send.
type outbox struct {
	sent chan mail.Message
}

func (o *outbox) Send(_ context.Context, m mail.Message) error { o.sent <- m; return nil }

func (o *outbox) next(t *testing.T) mail.Message {
	t.Helper()
	select {
	case m := <-o.sent:
		return m
	case <-time.After(5 * time.Second):
		t.Fatal("no message queued")
	}
	return mail.Message{}
}

func newService(t *testing.T, signupOpen bool) (*magiclink.Service, *outbox, *testkit.Clock) {
	s, box, clock, _ := newServiceDB(t, signupOpen)
	return s, box, clock
}

func newServiceDB(t *testing.T, signupOpen bool) (*magiclink.Service, *outbox, *testkit.Clock, *db.DB) {
	t.Helper()
	clock := testkit.NewClock(time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC))
	box := &outbox{sent: make(chan mail.Message, 10)}
	store := dbtest.SQLite(t)
	queue, err := mail.NewQueue(mail.QueueConfig{Store: store, Sender: box, Key: bytes.Repeat([]byte{8}, 32), Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = queue.Close(context.Background()) })
	s := magiclink.New(magiclink.Config{
		Store: store, Mail: queue, CodeKey: bytes.Repeat([]byte{7}, 32),
		PublicURL: "https://id.example.com", SignupOpen: signupOpen, Now: clock.Now,
	})
	return s, box, clock, store
}

// spend runs a proof's writes as signin.Complete would, in one
// transaction.
func spend(d *db.DB, p signin.Proof, now time.Time) error {
	return d.SignInTx(context.Background(), func(tx *db.Tx) error { return p.RunSpends(context.Background(), tx, now) })
}

func TestNewCode(t *testing.T) {
	seen := map[string]bool{}
	for range 2000 {
		c := magiclink.NewCode()
		if !magiclink.ValidCodeFormat(c) {
			t.Fatalf("NewCode() = %q; want 6 digits", c)
		}
		seen[c] = true
	}
	if len(seen) < 1990 { // 2000 draws from 10^6 rarely collide more than a few times
		t.Errorf("%d distinct codes in 2000 draws; the generator looks biased", len(seen))
	}
}

func TestValidCodeFormat(t *testing.T) {
	for code, want := range map[string]bool{"123456": true, "000000": true, "12345": false, "1234567": false, "12a456": false, "１２３４５６": false, "": false, " 12345": false} {
		if got := magiclink.ValidCodeFormat(code); got != want {
			t.Errorf("ValidCodeFormat(%q) = %v; want %v", code, got, want)
		}
	}
}

func TestCodeMACBindsFlow(t *testing.T) {
	key := bytes.Repeat([]byte{1}, 32)
	a := magiclink.CodeMAC(key, "flow-a", "123456")
	if bytes.Equal(a, magiclink.CodeMAC(key, "flow-b", "123456")) {
		t.Error("the same code MACs alike for two flows")
	}
	if bytes.Equal(a, magiclink.CodeMAC(bytes.Repeat([]byte{2}, 32), "flow-a", "123456")) {
		t.Error("the MAC does not depend on the key")
	}
}

func TestLinkBuiltFromPublicURL(t *testing.T) {
	s, box, _ := newService(t, true)
	if _, err := s.Start(context.Background(), "alice@example.com", "192.0.2.1"); err != nil {
		t.Fatal(err)
	}
	m := box.next(t)
	token := testsmtp.ExtractLinkToken(m.Text)
	if !strings.Contains(m.Text, "https://id.example.com/auth/link#t="+token) || len(token) != 43 {
		t.Fatalf("message text lacks a public-URL link with a 256-bit token:\n%s", m.Text)
	}
}

func TestVerifyCodeErrors(t *testing.T) {
	ctx := context.Background()
	s, box, clock, d := newServiceDB(t, true)
	started, err := s.Start(ctx, "bob@example.com", "192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	code := testsmtp.ExtractCode(box.next(t).Text)
	for _, c := range []struct {
		name, flow, code, want string
	}{
		{"malformed code", started.FlowID, "abc", sesame.EBadRequest},
		{"unknown flow", "nope", "123456", sesame.EExpired},
	} {
		if _, err := s.VerifyCode(ctx, c.flow, c.code); sesame.ErrorCode(err) != c.want {
			t.Errorf("%s: %v; want %s", c.name, err, c.want)
		}
	}
	res, err := s.VerifyCode(ctx, started.FlowID, code)
	if err != nil || !res.SignedUp || res.User.Email != "bob@example.com" || res.Method != signin.MethodEmailCode {
		t.Fatalf("VerifyCode = %+v, %v; want a new account", res, err)
	}
	// Verifying again before the first sign-in's transaction spent the
	// flow proves the code again; only one of the two spends can succeed.
	again, err := s.VerifyCode(ctx, started.FlowID, code)
	if err != nil {
		t.Fatalf("second verify before the spend: %v", err)
	}
	if err := spend(d, res, clock.Now()); err != nil {
		t.Fatalf("first spend: %v", err)
	}
	if err := spend(d, again, clock.Now()); sesame.ErrorCode(err) != sesame.EUsed {
		t.Errorf("second spend: %v; want used", err)
	}
	if _, err := s.VerifyCode(ctx, started.FlowID, code); sesame.ErrorCode(err) != sesame.EUsed {
		t.Errorf("use after the spend: %v; want used", err)
	}
	started, _ = s.Start(ctx, "bob@example.com", "192.0.2.1")
	box.next(t)
	clock.Advance(16 * time.Minute)
	if _, err := s.VerifyCode(ctx, started.FlowID, "123456"); sesame.ErrorCode(err) != sesame.EExpired {
		t.Errorf("after 16 minutes: %v; want expired", err)
	}
}

func TestClosedSignup(t *testing.T) {
	ctx := context.Background()
	s, box, _ := newService(t, false)
	started, err := s.Start(ctx, "stranger@example.com", "192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	m := box.next(t)
	if testsmtp.ExtractCode(m.Text) != "" || !strings.Contains(m.Text, "no account") {
		t.Fatalf("closed sign-up sent a usable message to an unknown address:\n%s", m.Text)
	}
	for _, code := range []string{"000000", "123456"} {
		if _, err := s.VerifyCode(ctx, started.FlowID, code); sesame.ErrorCode(err) != sesame.EInvalidCode {
			t.Errorf("guess %s: %v; want invalid_code", code, err)
		}
	}
}
