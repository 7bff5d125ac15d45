package signin_test

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/audit"
	"github.com/sesame-auth/sesame/db"
	"github.com/sesame-auth/sesame/db/dbtest"
	"github.com/sesame-auth/sesame/internal/testkit"
	"github.com/sesame-auth/sesame/mail"
	"github.com/sesame-auth/sesame/signin"
	"github.com/sesame-auth/sesame/token"
)

// mailbox is a hand-written Mailer that keeps the drafts it is given.
type mailbox struct{ sent []mail.Draft }

func (m *mailbox) Enqueue(d mail.Draft) bool { m.sent = append(m.sent, d); return true }

var errInjected = errors.New("injected failure")

// failingStore wraps the real store; while failAfterSession is set, every
// sign-in transaction fails right after the session (and its refresh
// token) were inserted, as a crash or a full disk would.
type failingStore struct {
	signin.Store
	failAfterSession bool
}

func (s *failingStore) SignInTx(ctx context.Context, fn func(signin.Tx) error) error {
	return s.Store.SignInTx(ctx, func(tx signin.Tx) error { return fn(failingTx{Tx: tx, s: s}) })
}

type failingTx struct {
	signin.Tx
	s *failingStore
}

func (t failingTx) CreateSession(ctx context.Context, sess sesame.Session, refreshHash []byte) error {
	if err := t.Tx.CreateSession(ctx, sess, refreshHash); err != nil {
		return err
	}
	if t.s.failAfterSession {
		return errInjected
	}
	return nil
}

type fixture struct {
	d     *db.DB
	store *failingStore
	svc   *signin.Service
	clock *testkit.Clock
	mail  *mailbox
	user  sesame.User
	cred  sesame.Credential
}

func newFixture(t *testing.T, d *db.DB) *fixture { return newFixtureMax(t, d, 0) }

func newFixtureMax(t *testing.T, d *db.DB, maxSessions int) *fixture {
	t.Helper()
	ctx := context.Background()
	f := &fixture{d: d, clock: testkit.NewClock(time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)), mail: &mailbox{}}
	f.store = &failingStore{Store: signin.StoreOf[*db.Tx](d)}
	log := slog.New(slog.NewTextHandler(&testkit.LogBuffer{}, nil))
	f.svc = signin.New(signin.Config{
		Store:       f.store,
		Sessions:    token.NewSessions(token.SessionsConfig{Store: d, Now: f.clock.Now}),
		Audit:       audit.New(d, log, f.clock.Now),
		Notices:     f.mail,
		PublicURL:   "https://id.example.com",
		MaxSessions: maxSessions,
		Logger:      log,
		Now:         f.clock.Now,
	})
	var err error
	f.user, _, err = d.EnsureUser(ctx, sesame.User{ID: sesame.NewID(), Email: "alice@example.com",
		WebAuthnHandle: sesame.RandomBytes(32), CreatedAt: f.clock.Now()})
	if err != nil {
		t.Fatal(err)
	}
	f.cred = sesame.Credential{ID: sesame.RandomBytes(16), UserID: f.user.ID, Name: "Key", PublicKey: []byte{1},
		SignCount: 5, AAGUID: make([]byte, 16), CreatedAt: f.clock.Now()}
	if err := d.CreateCredential(ctx, f.cred); err != nil {
		t.Fatal(err)
	}
	return f
}

// passkeyProof is what webauthn.FinishLogin hands over for f.cred: its
// spend stores the counter 6 in place of the 5 read before verification.
func (f *fixture) passkeyProof(oldCount uint32) signin.Proof {
	used := f.cred
	used.SignCount = 6
	return signin.Proof{
		User: f.user, Method: signin.MethodPasskey, AMR: []string{"hwk", "user"}, CredentialID: f.cred.ID,
		Client: sesame.Client{IP: "192.0.2.1", UserAgent: "Test/1.0"},
		Spends: []signin.Spend{func(ctx context.Context, tx signin.Tx, now time.Time) error {
			used.LastUsedAt = &now
			if err := tx.UseCredential(ctx, used, oldCount, now); errors.Is(err, sesame.ErrNotFound) {
				return sesame.Errorf(sesame.ECeremonyFailed, "The passkey could not be verified.")
			} else if err != nil {
				return err
			}
			return nil
		}},
	}
}

func (f *fixture) rows(t *testing.T, table string) int {
	t.Helper()
	n, err := f.d.TableRows(context.Background(), table)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func (f *fixture) results(t *testing.T) []string {
	t.Helper()
	events, err := f.d.AuditEvents(context.Background(), f.user.ID, 50)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range events {
		out = append(out, e.Event+":"+e.Result)
	}
	return out
}

// TestCompleteIsAllOrNothing: the credential's counter, the session with
// its refresh token and the audit event are one transaction. A failure
// injected after the session insert, or a spend that loses its
// compare-and-swap, leaves no session, no counter change and no success
// audit row; only the failure is recorded.
func TestCompleteIsAllOrNothing(t *testing.T) {
	engines := []struct {
		name string
		open func(testing.TB) *db.DB
	}{{"sqlite", dbtest.SQLite}, {"postgres", dbtest.Postgres}}
	for _, engine := range engines {
		t.Run(engine.name, func(t *testing.T) { allOrNothing(t, engine.open) })
	}
}

func allOrNothing(t *testing.T, open func(testing.TB) *db.DB) {
	ctx := context.Background()
	for _, tc := range []struct {
		name      string
		inject    bool
		oldCount  uint32
		wantCode  string
		wantAudit string
	}{
		{"failure after the session insert", true, 5, sesame.EInternal, "sign_in:internal"},
		{"counter changed meanwhile", false, 4, sesame.ECeremonyFailed, "sign_in:ceremony_failed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, open(t))
			d := f.d
			f.store.failAfterSession = tc.inject
			_, err := f.svc.Complete(ctx, f.passkeyProof(tc.oldCount))
			if got := sesame.ErrorCode(err); got != tc.wantCode {
				t.Fatalf("Complete = %v; want code %s", err, tc.wantCode)
			}
			if n, r := f.rows(t, "sessions"), f.rows(t, "refresh_tokens"); n != 0 || r != 0 {
				t.Errorf("%d sessions, %d refresh tokens after a failed sign-in; want none", n, r)
			}
			stored, err := d.CredentialByID(ctx, f.cred.ID)
			if err != nil || stored.SignCount != 5 || stored.LastUsedAt != nil {
				t.Errorf("credential after a failed sign-in: count %d, last used %v, %v; want 5, never", stored.SignCount, stored.LastUsedAt, err)
			}
			if got := f.results(t); !slices.Equal(got, []string{tc.wantAudit}) {
				t.Errorf("audit = %v; want only %s", got, tc.wantAudit)
			}
			if len(f.mail.sent) != 0 {
				t.Errorf("%d notices queued for a failed sign-in", len(f.mail.sent))
			}
		})
	}
	t.Run("success", func(t *testing.T) {
		f := newFixture(t, open(t))
		d := f.d
		res, err := f.svc.Complete(ctx, f.passkeyProof(5))
		if err != nil || res.Refresh == "" || res.Session.UserID != f.user.ID || !slices.Equal(res.Session.AMR, []string{"hwk", "user"}) {
			t.Fatalf("Complete = %+v, %v", res, err)
		}
		if n := f.rows(t, "sessions"); n != 1 {
			t.Errorf("%d sessions; want 1", n)
		}
		if stored, _ := d.CredentialByID(ctx, f.cred.ID); stored.SignCount != 6 || stored.LastUsedAt == nil {
			t.Errorf("credential count %d, last used %v; want 6, now", stored.SignCount, stored.LastUsedAt)
		}
		events, _ := d.AuditEvents(ctx, f.user.ID, 10)
		if len(events) != 1 || events[0].Result != "success" || events[0].CredentialID == "" || events[0].IP != "192.0.2.1" {
			t.Errorf("audit = %+v; want one success naming the credential and client", events)
		}
		// The same proof again: its spend no longer matches, so no
		// second session.
		if _, err := f.svc.Complete(ctx, f.passkeyProof(5)); sesame.ErrorCode(err) != sesame.ECeremonyFailed {
			t.Errorf("replayed proof: %v; want ceremony_failed", err)
		}
		if n := f.rows(t, "sessions"); n != 1 {
			t.Errorf("%d sessions after a replayed proof; want 1", n)
		}
	})
}

// TestCompleteRefusesDisabled: one rule for every way in; the proof's
// spends run alone (its one-time secret is used up, its counter stored),
// no session is made, and the same proof replayed once the account is
// enabled again makes none either.
func TestCompleteRefusesDisabled(t *testing.T) {
	f := newFixture(t, dbtest.SQLite(t))
	ctx := context.Background()
	if err := f.d.DisableUser(ctx, f.user.ID, f.clock.Now()); err != nil {
		t.Fatal(err)
	}
	f.user, _ = f.d.UserByID(ctx, f.user.ID)
	_, err := f.svc.Complete(ctx, f.passkeyProof(5))
	if !errors.Is(err, sesame.ErrAccountDisabled) {
		t.Fatalf("Complete = %v; want account_disabled", err)
	}
	if stored, _ := f.d.CredentialByID(ctx, f.cred.ID); stored.SignCount != 6 || f.rows(t, "sessions") != 0 {
		t.Errorf("a disabled account's sign-in: count %d, %d sessions; want the proof spent (6), no session", stored.SignCount, f.rows(t, "sessions"))
	}
	if got := f.results(t); !slices.Equal(got, []string{"sign_in:account_disabled"}) {
		t.Errorf("audit = %v; want sign_in:account_disabled", got)
	}
	if _, err := f.d.SetUserDisabled(ctx, f.user.ID, false, f.clock.Now()); err != nil {
		t.Fatal(err)
	}
	f.user, _ = f.d.UserByID(ctx, f.user.ID)
	if _, err := f.svc.Complete(ctx, f.passkeyProof(5)); sesame.ErrorCode(err) != sesame.ECeremonyFailed || f.rows(t, "sessions") != 0 {
		t.Errorf("the refused proof replayed after enabling: %v, %d sessions; want ceremony_failed, none", err, f.rows(t, "sessions"))
	}
}

// TestNewDeviceNotice: a sign-in from a device an account has not used
// before, on an account that has signed in elsewhere, queues a notice.
func TestNewDeviceNotice(t *testing.T) {
	f := newFixture(t, dbtest.SQLite(t))
	ctx := context.Background()
	proof := signin.Proof{User: f.user, Method: signin.MethodEmailCode, AMR: []string{"otp"}, Client: sesame.Client{UserAgent: "Laptop/1"}}
	for i, tc := range []struct {
		ua   string
		want bool
	}{{"Laptop/1", false}, {"Laptop/1", false}, {"Phone/2", true}} {
		proof.Client.UserAgent = tc.ua
		res, err := f.svc.Complete(ctx, proof)
		if err != nil || res.NewDevice != tc.want {
			t.Errorf("sign-in %d from %s: new device %v, %v; want %v", i, tc.ua, res.NewDevice, err, tc.want)
		}
	}
	if len(f.mail.sent) != 1 || f.mail.sent[0].To() != f.user.Email {
		t.Errorf("notices = %+v; want one to alice", f.mail.sent)
	}
}

// TestSessionCapSameMillisecond: sign-ins at one instant. With a cap of
// one, each ends every other live session but never the one it made;
// with a larger cap, sessions of the same millisecond as the oldest kept
// are spared (the cap is passed for a moment) and none kept is ended.
func TestSessionCapSameMillisecond(t *testing.T) {
	for _, tc := range []struct{ keep, signIns, wantLive int }{
		{keep: 1, signIns: 3, wantLive: 1},
		{keep: 2, signIns: 4, wantLive: 4},
	} {
		dbtest.Engines(t, func(t *testing.T, d *db.DB) {
			f := newFixtureMax(t, d, tc.keep)
			ctx := context.Background()
			proof := signin.Proof{User: f.user, Method: signin.MethodEmailCode, AMR: []string{"otp"}}
			var last string
			for range tc.signIns {
				res, err := f.svc.Complete(ctx, proof)
				if err != nil {
					t.Fatal(err)
				}
				last = res.Session.ID
			}
			live, err := d.UserSessions(ctx, f.user.ID, f.clock.Now(), f.clock.Now().Add(-time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			if len(live) != tc.wantLive || !slices.ContainsFunc(live, func(s sesame.Session) bool { return s.ID == last }) {
				t.Errorf("cap %d, %d sign-ins in one millisecond: %d live sessions, newest among them: %v; want %d and true",
					tc.keep, tc.signIns, len(live), slices.ContainsFunc(live, func(s sesame.Session) bool { return s.ID == last }), tc.wantLive)
			}
			// Once the sessions kept are newer than that millisecond, the
			// cap ends every session of it.
			for range tc.keep {
				f.clock.Advance(time.Second)
				if _, err := f.svc.Complete(ctx, proof); err != nil {
					t.Fatal(err)
				}
			}
			if live, _ := d.UserSessions(ctx, f.user.ID, f.clock.Now(), f.clock.Now().Add(-time.Hour)); len(live) != tc.keep {
				t.Errorf("cap %d, %d sign-ins a second apart later: %d live sessions; want %d", tc.keep, tc.keep, len(live), tc.keep)
			}
		})
	}
}

// TestSessionCap: an account keeps at most MaxSessions live sessions; a
// sign-in beyond them ends the oldest, in the same transaction. The
// new-device check still knows the devices whose sessions the cap ended.
func TestSessionCap(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		f := newFixtureMax(t, d, 3)
		ctx := context.Background()
		proof := signin.Proof{User: f.user, Method: signin.MethodEmailCode, AMR: []string{"otp"}}
		var ids []string
		for _, ua := range []string{"Old/1", "Two/2", "Three/3", "Four/4", "Five/5"} {
			proof.Client.UserAgent = ua
			res, err := f.svc.Complete(ctx, proof)
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, res.Session.ID)
			f.clock.Advance(time.Second)
		}
		live, err := d.UserSessions(ctx, f.user.ID, f.clock.Now(), f.clock.Now().Add(-time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, s := range live {
			got = append(got, s.ID)
		}
		if want := []string{ids[4], ids[3], ids[2]}; !slices.Equal(got, want) {
			t.Fatalf("live sessions %v; want the newest three %v", got, want)
		}
		for _, id := range ids[:2] {
			if s, err := d.SessionByID(ctx, id); err != nil || s.RevokedAt == nil {
				t.Errorf("session %s: revoked %v, %v; want ended by the cap", id, s.RevokedAt, err)
			}
		}
		// Right after the cap: the device whose session it ended is known,
		// a new one is not.
		for _, tc := range []struct {
			ua   string
			want bool
		}{{"Old/1", false}, {"Six/6", true}} {
			proof.Client.UserAgent = tc.ua
			res, err := f.svc.Complete(ctx, proof)
			if err != nil || res.NewDevice != tc.want {
				t.Errorf("sign-in from %s after the cap: new device %v, %v; want %v", tc.ua, res.NewDevice, err, tc.want)
			}
		}
		if live, _ := d.UserSessions(ctx, f.user.ID, f.clock.Now(), f.clock.Now().Add(-time.Hour)); len(live) != 3 {
			t.Errorf("%d live sessions; want the cap, 3", len(live))
		}
	})
}
