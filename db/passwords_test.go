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

func TestPasswords(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		u := newUser(t, d, "alice@example.com")
		other := newUser(t, d, "bob@example.com")
		salt, stored, server := sesame.RandomBytes(16), sesame.RandomBytes(32), sesame.RandomBytes(32)

		if has, err := d.HasPassword(ctx, u.ID); err != nil || has {
			t.Fatalf("HasPassword = %v, %v; want false", has, err)
		}
		if _, _, _, _, err := d.PasswordOf(ctx, u.ID); !errors.Is(err, sesame.ErrNotFound) {
			t.Fatalf("PasswordOf(none) error = %v; want ErrNotFound", err)
		}
		if err := d.CreatePasswordSet(ctx, "set1", u.ID, salt, 600000, t0, t0.Add(10*time.Minute)); err != nil {
			t.Fatal(err)
		}
		if _, err := d.FinishPasswordSet(ctx, "set1", other.ID, stored, server, t0); !errors.Is(err, sesame.ErrNotFound) {
			t.Fatalf("someone else's set: error = %v; want ErrNotFound", err)
		}
		if replaced, err := d.FinishPasswordSet(ctx, "set1", u.ID, stored, server, t0); err != nil || replaced {
			t.Fatalf("FinishPasswordSet = %v, %v; want a first password", replaced, err)
		}
		if _, err := d.FinishPasswordSet(ctx, "set1", u.ID, stored, server, t0); !errors.Is(err, sesame.ErrNotFound) {
			t.Fatalf("spent set: error = %v; want ErrNotFound", err)
		}
		gotSalt, iters, gotStored, gotServer, err := d.PasswordOf(ctx, u.ID)
		if err != nil || string(gotSalt) != string(salt) || iters != 600000 || string(gotStored) != string(stored) || string(gotServer) != string(server) {
			t.Fatalf("PasswordOf = %x %d %x %x, %v", gotSalt, iters, gotStored, gotServer, err)
		}
		// A second set replaces the password; an expired one does nothing.
		salt2 := sesame.RandomBytes(16)
		if err := d.CreatePasswordSet(ctx, "set2", u.ID, salt2, 600000, t0, t0.Add(10*time.Minute)); err != nil {
			t.Fatal(err)
		}
		if _, err := d.FinishPasswordSet(ctx, "set2", u.ID, stored, server, t0.Add(10*time.Minute)); !errors.Is(err, sesame.ErrNotFound) {
			t.Fatalf("expired set: error = %v; want ErrNotFound", err)
		}
		if err := d.CreatePasswordSet(ctx, "set3", u.ID, salt2, 600000, t0, t0.Add(10*time.Minute)); err != nil {
			t.Fatal(err)
		}
		if replaced, err := d.FinishPasswordSet(ctx, "set3", u.ID, server, stored, t0.Add(time.Minute)); err != nil || !replaced {
			t.Fatalf("FinishPasswordSet again = %v, %v; want replaced", replaced, err)
		}
		if gotSalt, _, gotStored, _, _ := d.PasswordOf(ctx, u.ID); string(gotSalt) != string(salt2) || string(gotStored) != string(server) {
			t.Fatal("the new password did not replace the old")
		}
		if removed, err := d.DeletePassword(ctx, u.ID); err != nil || !removed {
			t.Fatalf("DeletePassword = %v, %v", removed, err)
		}
		if removed, err := d.DeletePassword(ctx, u.ID); err != nil || removed {
			t.Fatalf("DeletePassword again = %v, %v", removed, err)
		}
	})
}

func TestSCRAMLogins(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		u := newUser(t, d, "carol@example.com")
		if err := d.CreateSCRAMLogin(ctx, "l1", u.ID, "n,,n=carol@example.com,r=abcdefgh", "SERVERNONCE", t0, t0.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if err := d.CreateSCRAMLogin(ctx, "l2", "", "n,,n=nobody@example.com,r=abcdefgh", "NONCE2", t0, t0.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		// 20 concurrent finishes: exactly one gets the login.
		var ok atomic.Int32
		var wg sync.WaitGroup
		for range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				userID, first, nonce, err := d.ConsumeSCRAMLogin(ctx, "l1", t0.Add(time.Second))
				switch {
				case err == nil && userID == u.ID && first == "n,,n=carol@example.com,r=abcdefgh" && nonce == "SERVERNONCE":
					ok.Add(1)
				case errors.Is(err, sesame.ErrNotFound):
				default:
					t.Errorf("ConsumeSCRAMLogin = %q %q %q, %v", userID, first, nonce, err)
				}
			}()
		}
		wg.Wait()
		if ok.Load() != 1 {
			t.Fatalf("%d of 20 consumed the login; want 1", ok.Load())
		}
		if consumed, err := d.SCRAMLoginConsumed(ctx, "l1"); err != nil || !consumed {
			t.Fatalf("SCRAMLoginConsumed = %v, %v; want true", consumed, err)
		}
		// An unknown user's login has no user; it expires at 60 s.
		if _, _, _, err := d.ConsumeSCRAMLogin(ctx, "l2", t0.Add(time.Minute)); !errors.Is(err, sesame.ErrNotFound) {
			t.Fatalf("expired login: error = %v; want ErrNotFound", err)
		}
		if consumed, err := d.SCRAMLoginConsumed(ctx, "l2"); err != nil || consumed {
			t.Fatalf("expired login consumed = %v, %v; want false", consumed, err)
		}
		if userID, _, _, err := d.ConsumeSCRAMLogin(ctx, "l2", t0.Add(59*time.Second)); err != nil || userID != "" {
			t.Fatalf("unknown user's login = %q, %v; want no user", userID, err)
		}
		if _, err := d.SCRAMLoginConsumed(ctx, "nope"); !errors.Is(err, sesame.ErrNotFound) {
			t.Fatalf("unknown login: error = %v; want ErrNotFound", err)
		}

		// MFA-pending tokens are used once.
		if used, err := d.MFATokenUsed(ctx, "jti1"); err != nil || used {
			t.Fatalf("MFATokenUsed = %v, %v; want false", used, err)
		}
		if err := d.UseMFAToken(ctx, "jti1", u.ID, "session", t0, t0.Add(5*time.Minute)); err != nil {
			t.Fatal(err)
		}
		if err := d.UseMFAToken(ctx, "jti1", u.ID, "session", t0, t0.Add(5*time.Minute)); sesame.ErrorCode(err) != sesame.EConflict {
			t.Fatalf("second UseMFAToken error = %v; want conflict", err)
		}
		if used, err := d.MFATokenUsed(ctx, "jti1"); err != nil || !used {
			t.Fatalf("MFATokenUsed = %v, %v; want true", used, err)
		}
		if n, err := d.SweepPasswordRows(ctx, t0.Add(time.Hour), 10*time.Minute); err != nil || n != 3 {
			t.Fatalf("SweepPasswordRows = %d, %v; want the 2 logins and the token", n, err)
		}
	})
}
