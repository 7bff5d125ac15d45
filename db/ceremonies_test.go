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

func ceremony(kind, userID string, created time.Time) sesame.Ceremony {
	return sesame.Ceremony{ID: sesame.NewID(), Type: kind, UserID: userID, Session: []byte(`{"challenge":"x"}`),
		CreatedAt: created, ExpiresAt: created.Add(5 * time.Minute)}
}

func TestCeremonies(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		u := newUser(t, d, "dave@example.com")
		reg := ceremony(sesame.CeremonyRegistration, u.ID, t0)
		login := ceremony(sesame.CeremonyLogin, "", t0)
		for _, c := range []sesame.Ceremony{reg, login} {
			if err := d.CreateCeremony(ctx, c); err != nil {
				t.Fatal(err)
			}
		}
		got, err := d.ConsumeCeremony(ctx, reg.ID, t0.Add(time.Minute))
		if err != nil || got.Type != sesame.CeremonyRegistration || got.UserID != u.ID || string(got.Session) != `{"challenge":"x"}` ||
			got.ConsumedAt == nil || !got.ExpiresAt.Equal(reg.ExpiresAt) {
			t.Fatalf("ConsumeCeremony = %+v, %v", got, err)
		}
		// Single use: the second consume fails, and Ceremony tells why.
		if _, err := d.ConsumeCeremony(ctx, reg.ID, t0.Add(time.Minute)); !errors.Is(err, sesame.ErrNotFound) {
			t.Fatalf("second ConsumeCeremony = %v; want ErrNotFound", err)
		}
		if c, err := d.Ceremony(ctx, reg.ID); err != nil || c.ConsumedAt == nil {
			t.Fatalf("Ceremony(used) = %+v, %v; want consumed", c, err)
		}
		// Expired at exactly its end.
		if _, err := d.ConsumeCeremony(ctx, login.ID, login.ExpiresAt); !errors.Is(err, sesame.ErrNotFound) {
			t.Fatalf("ConsumeCeremony(expired) = %v; want ErrNotFound", err)
		}
		if c, err := d.Ceremony(ctx, login.ID); err != nil || c.ConsumedAt != nil {
			t.Fatalf("Ceremony(expired) = %+v, %v; want unconsumed", c, err)
		}
		if _, err := d.ConsumeCeremony(ctx, "unknown", t0); !errors.Is(err, sesame.ErrNotFound) {
			t.Fatalf("ConsumeCeremony(unknown) = %v; want ErrNotFound", err)
		}
		if n, err := d.SweepCeremonies(ctx, t0.Add(time.Hour), 10*time.Minute); err != nil || n != 2 {
			t.Fatalf("SweepCeremonies = %d, %v; want 2", n, err)
		}
		if _, err := d.Ceremony(ctx, login.ID); !errors.Is(err, sesame.ErrNotFound) {
			t.Fatalf("Ceremony(swept) = %v; want ErrNotFound", err)
		}
	})
}

// TestCeremonyConsumedOnce: 20 concurrent finishes of one ceremony, one wins.
func TestCeremonyConsumedOnce(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		c := ceremony(sesame.CeremonyLogin, "", t0)
		if err := d.CreateCeremony(ctx, c); err != nil {
			t.Fatal(err)
		}
		var won atomic.Int32
		var wg sync.WaitGroup
		for range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				switch _, err := d.ConsumeCeremony(ctx, c.ID, t0.Add(time.Second)); {
				case err == nil:
					won.Add(1)
				case !errors.Is(err, sesame.ErrNotFound):
					t.Errorf("ConsumeCeremony: %v", err)
				}
			}()
		}
		wg.Wait()
		if won.Load() != 1 {
			t.Fatalf("%d concurrent consumes succeeded; want 1", won.Load())
		}
	})
}

// TestChallengeSpentOnce: a sign-in ticket's challenge is spent once, by
// its hash, whether concurrently or inside a sign-in transaction (whose
// rollback leaves it unspent), and swept after its expiry.
func TestChallengeSpentOnce(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		hash, expires := sesame.RandomBytes(32), t0.Add(5*time.Minute)
		errRollback := errors.New("roll back")
		if err := d.SignInTx(ctx, func(tx *db.Tx) error {
			if err := tx.SpendChallenge(ctx, hash, expires); err != nil {
				return err
			}
			return errRollback
		}); !errors.Is(err, errRollback) {
			t.Fatalf("SignInTx = %v", err)
		}
		var won atomic.Int32
		var wg sync.WaitGroup
		for i := range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				spend := func() error { return d.SpendChallenge(ctx, hash, expires) }
				if i%2 == 0 {
					spend = func() error {
						return d.SignInTx(ctx, func(tx *db.Tx) error { return tx.SpendChallenge(ctx, hash, expires) })
					}
				}
				switch err := spend(); {
				case err == nil:
					won.Add(1)
				case sesame.ErrorCode(err) != sesame.EConflict:
					t.Errorf("SpendChallenge: %v", err)
				}
			}()
		}
		wg.Wait()
		if won.Load() != 1 {
			t.Fatalf("%d concurrent spends succeeded; want 1", won.Load())
		}
		// Another challenge of the same expiry is its own.
		if err := d.SpendChallenge(ctx, sesame.RandomBytes(32), expires); err != nil {
			t.Fatal(err)
		}
		if n, err := d.SweepSpentChallenges(ctx, expires, 0); err != nil || n != 0 {
			t.Fatalf("sweep at expiry = %d, %v; want 0", n, err)
		}
		if n, err := d.SweepSpentChallenges(ctx, expires.Add(time.Millisecond), 0); err != nil || n != 2 {
			t.Fatalf("sweep after expiry = %d, %v; want 2", n, err)
		}
	})
}
