package db_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/db"
	"github.com/sesame-auth/sesame/db/dbtest"
)

var t0 = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

func newUser(t *testing.T, d *db.DB, email string) sesame.User {
	t.Helper()
	u, created, err := d.EnsureUser(context.Background(), sesame.User{ID: sesame.NewID(), Email: email, WebAuthnHandle: sesame.RandomBytes(32), CreatedAt: t0})
	if err != nil || !created {
		t.Fatalf("EnsureUser(%q) = %v, %v; want created", email, created, err)
	}
	return u
}

func TestUsers(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		u := newUser(t, d, "alice@example.com")
		got, err := d.UserByEmail(ctx, "alice@example.com")
		if err != nil || got.ID != u.ID || !got.CreatedAt.Equal(t0) || len(got.WebAuthnHandle) != 32 {
			t.Fatalf("UserByEmail = %+v, %v; want %+v", got, err, u)
		}
		if _, err := d.UserByID(ctx, "nobody"); !errors.Is(err, sesame.ErrNotFound) {
			t.Fatalf("UserByID(unknown) error = %v; want ErrNotFound", err)
		}
		// Concurrent sign-ups of one new address end in one account.
		var wg sync.WaitGroup
		ids := make([]string, 10)
		for i := range ids {
			wg.Add(1)
			go func() {
				defer wg.Done()
				u, _, err := d.EnsureUser(ctx, sesame.User{ID: sesame.NewID(), Email: "bob@example.com", WebAuthnHandle: sesame.RandomBytes(32), CreatedAt: t0})
				if err != nil {
					t.Errorf("EnsureUser: %v", err)
				}
				ids[i] = u.ID
			}()
		}
		wg.Wait()
		for _, id := range ids {
			if id != ids[0] {
				t.Fatalf("concurrent EnsureUser gave ids %v; want one", ids)
			}
		}
	})
}

func flow(email string, created time.Time) sesame.EmailFlow {
	return sesame.EmailFlow{ID: sesame.NewID(), Purpose: sesame.FlowSignIn, Email: email, TokenHash: sesame.RandomBytes(32),
		CodeMAC: sesame.RandomBytes(32), Sends: 1, CreatedAt: created, ExpiresAt: created.Add(15 * time.Minute)}
}

func TestEmailFlows(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		old := flow("a@example.com", t0)
		if err := d.CreateEmailFlow(ctx, old); err != nil {
			t.Fatal(err)
		}
		other := flow("z@example.com", t0)
		if err := d.CreateEmailFlow(ctx, other); err != nil {
			t.Fatal(err)
		}
		newer := flow("a@example.com", t0.Add(time.Minute))
		if err := d.CreateEmailFlow(ctx, newer); err != nil {
			t.Fatal(err)
		}
		now := t0.Add(2 * time.Minute)
		if _, err := d.ConsumeEmailLink(ctx, old.TokenHash, now, 5); !errors.Is(err, sesame.ErrNotFound) {
			t.Errorf("older flow's link after a newer flow: err = %v; want ErrNotFound", err)
		}
		if _, err := d.CountCodeAttempt(ctx, other.ID, now, 5); err != nil {
			t.Errorf("another address's flow was ended: %v", err)
		}

		for i := 1; i <= 5; i++ {
			f, err := d.CountCodeAttempt(ctx, newer.ID, now, 5)
			if err != nil || f.Attempts != i {
				t.Fatalf("attempt %d: attempts = %d, %v", i, f.Attempts, err)
			}
		}
		if _, err := d.CountCodeAttempt(ctx, newer.ID, now, 5); !errors.Is(err, sesame.ErrNotFound) {
			t.Fatalf("sixth attempt: err = %v; want ErrNotFound", err)
		}
		if _, err := d.ConsumeEmailLink(ctx, newer.TokenHash, now, 5); !errors.Is(err, sesame.ErrNotFound) {
			t.Fatalf("link of a flow out of attempts: err = %v; want ErrNotFound", err)
		}

		expired := flow("b@example.com", t0)
		if err := d.CreateEmailFlow(ctx, expired); err != nil {
			t.Fatal(err)
		}
		if _, err := d.ConsumeEmailLink(ctx, expired.TokenHash, t0.Add(15*time.Minute), 5); !errors.Is(err, sesame.ErrNotFound) {
			t.Fatalf("link at expiry: err = %v; want ErrNotFound", err)
		}
	})
}

func TestConcurrentLinkConsumeOnce(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := flow("race@example.com", t0)
		if err := d.CreateEmailFlow(ctx, f); err != nil {
			t.Fatal(err)
		}
		var wins, losses atomic.Int32
		var wg sync.WaitGroup
		for range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := d.ConsumeEmailLink(ctx, f.TokenHash, t0.Add(time.Minute), 5)
				switch {
				case err == nil:
					wins.Add(1)
				case errors.Is(err, sesame.ErrNotFound):
					losses.Add(1)
				default:
					t.Errorf("consume: %v", err)
				}
			}()
		}
		wg.Wait()
		if wins.Load() != 1 || losses.Load() != 19 {
			t.Fatalf("20 concurrent consumes: %d wins, %d losses; want 1 and 19", wins.Load(), losses.Load())
		}
	})
}

func TestRefreshTokens(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		u := newUser(t, d, "carol@example.com")
		s := sesame.Session{ID: sesame.NewID(), UserID: u.ID, CreatedAt: t0, LastUsedAt: t0, ExpiresAt: t0.Add(30 * 24 * time.Hour),
			AuthTime: t0, AMR: []string{"otp"}, UserAgent: "test", IP: "127.0.0.1"}
		r1, r2 := sesame.RandomBytes(32), sesame.RandomBytes(32)
		if err := d.CreateSession(ctx, s, r1); err != nil {
			t.Fatal(err)
		}
		got, err := d.SessionByID(ctx, s.ID)
		if err != nil || got.AMR[0] != "otp" || !got.ExpiresAt.Equal(s.ExpiresAt) || got.RevokedAt != nil {
			t.Fatalf("SessionByID = %+v, %v", got, err)
		}
		if id, err := d.UseRefreshToken(ctx, r1, t0.Add(time.Minute)); err != nil || id != s.ID {
			t.Fatalf("UseRefreshToken(r1) = %q, %v", id, err)
		}
		if err := d.ContinueSession(ctx, s.ID, r2, t0.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		// Replaying r1 revokes the family; r2 then belongs to a dead session.
		if id, err := d.UseRefreshToken(ctx, r1, t0.Add(2*time.Minute)); !errors.Is(err, sesame.ErrRefreshReused) || id != s.ID {
			t.Fatalf("replayed r1: %q, %v; want ErrRefreshReused", id, err)
		}
		if got, _ := d.SessionByID(ctx, s.ID); got.RevokedAt == nil {
			t.Fatal("session not revoked after a replay")
		}
		if err := d.ContinueSession(ctx, s.ID, sesame.RandomBytes(32), t0.Add(3*time.Minute)); !errors.Is(err, sesame.ErrNotFound) {
			t.Fatalf("ContinueSession on a revoked session: %v; want ErrNotFound", err)
		}
		if _, err := d.UseRefreshToken(ctx, sesame.RandomBytes(32), t0); !errors.Is(err, sesame.ErrNotFound) {
			t.Fatalf("unknown refresh token: %v; want ErrNotFound", err)
		}
		if list, err := d.UserSessions(ctx, u.ID, t0.Add(time.Hour), t0.Add(-time.Hour)); err != nil || len(list) != 0 {
			t.Fatalf("UserSessions after revocation = %v, %v; want none", list, err)
		}
	})
}

func TestSessionsListAndRevoke(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		u := newUser(t, d, "dave@example.com")
		var ids []string
		for i := range 3 {
			at := t0.Add(time.Duration(i) * time.Minute)
			s := sesame.Session{ID: sesame.NewID(), UserID: u.ID, CreatedAt: at, LastUsedAt: at, ExpiresAt: at.Add(time.Hour), AuthTime: at, AMR: []string{"otp"}}
			if err := d.CreateSession(ctx, s, sesame.RandomBytes(32)); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, s.ID)
		}
		list, err := d.UserSessions(ctx, u.ID, t0.Add(10*time.Minute), t0.Add(-time.Hour))
		if err != nil || len(list) != 3 || list[0].ID != ids[2] {
			t.Fatalf("UserSessions = %d sessions, %v; want 3, newest first", len(list), err)
		}
		other := newUser(t, d, "eve@example.com")
		if err := d.RevokeSession(ctx, other.ID, ids[0], t0); !errors.Is(err, sesame.ErrNotFound) {
			t.Fatalf("revoking another user's session: %v; want ErrNotFound", err)
		}
		if err := d.RevokeSession(ctx, u.ID, ids[0], t0); err != nil {
			t.Fatal(err)
		}
		if n, err := d.RevokeUserSessions(ctx, u.ID, t0); err != nil || n != 2 {
			t.Fatalf("RevokeUserSessions = %d, %v; want 2", n, err)
		}
	})
}

func TestSigningKeys(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		for i, kid := range []string{"k1", "k2"} {
			if err := d.InsertSigningKey(ctx, sesame.SigningKey{KID: kid, Algorithm: "ES256", PrivateKey: []byte{byte(i)}, CreatedAt: t0.Add(time.Duration(i) * time.Hour)}); err != nil {
				t.Fatal(err)
			}
		}
		if err := d.InsertSigningKey(ctx, sesame.SigningKey{KID: "k1", Algorithm: "ES256", PrivateKey: []byte{9}, CreatedAt: t0}); sesame.ErrorCode(err) != sesame.EConflict {
			t.Fatalf("duplicate kid: code %q; want conflict", sesame.ErrorCode(err))
		}
		if err := d.RetireSigningKeys(ctx, "k2", t0.Add(2*time.Hour)); err != nil {
			t.Fatal(err)
		}
		keys, err := d.SigningKeys(ctx)
		if err != nil || len(keys) != 2 || keys[0].KID != "k1" || keys[0].RetiredAt == nil || keys[1].RetiredAt != nil {
			t.Fatalf("SigningKeys = %+v, %v", keys, err)
		}
	})
}

func TestRateLimitHitsAreShared(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		var wg sync.WaitGroup
		for range 25 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := d.Hit(ctx, "ip:1.2.3.4", t0, time.Minute); err != nil {
					t.Errorf("Hit: %v", err)
				}
			}()
		}
		wg.Wait()
		if n, err := d.Hit(ctx, "ip:1.2.3.4", t0, time.Minute); err != nil || n != 26 {
			t.Fatalf("26th hit = %d, %v; want 26", n, err)
		}
		if n, _ := d.Hit(ctx, "ip:1.2.3.4", t0.Add(time.Minute), time.Minute); n != 1 {
			t.Fatalf("next window starts at %d; want 1", n)
		}
		if n, err := d.Sweep(ctx, t0.Add(90*time.Second), time.Hour); err != nil || n != 1 {
			t.Fatalf("Sweep = %d, %v; want the first window swept", n, err)
		}
	})
}
