package db_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/db"
	"github.com/sesame-auth/sesame/db/dbtest"
)

// TestAccountFacts: the one query behind /api/me answers what UserByID,
// HasPassword, HasTOTP and RecoveryCodesLeft answer, for an account with
// none of those factors and for one with all of them (a code spent), and
// not found for no account.
func TestAccountFacts(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		bare, full := newUser(t, d, "bare@example.com"), newUser(t, d, "full@example.com")
		if err := d.CreatePasswordSet(ctx, "set", full.ID, []byte("salt"), 4096, t0, t0.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if _, err := d.FinishPasswordSet(ctx, "set", full.ID, []byte("stored"), []byte("server"), t0); err != nil {
			t.Fatal(err)
		}
		if err := d.CreateTOTPEnrollment(ctx, "enrol", full.ID, []byte("secret"), t0, t0.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if _, err := d.FinishTOTPEnrollment(ctx, "enrol", full.ID, 1, t0); err != nil {
			t.Fatal(err)
		}
		macs := [][]byte{[]byte("code-1"), []byte("code-2"), []byte("code-3")}
		if err := d.ReplaceRecoveryCodes(ctx, full.ID, macs, t0); err != nil {
			t.Fatal(err)
		}
		if err := d.UseRecoveryCode(ctx, full.ID, macs[0], t0); err != nil {
			t.Fatal(err)
		}
		for _, u := range []sesame.User{bare, full} {
			got, err := d.AccountFacts(ctx, u.ID)
			if err != nil {
				t.Fatal(err)
			}
			hasPassword, _ := d.HasPassword(ctx, u.ID)
			hasTOTP, _ := d.HasTOTP(ctx, u.ID)
			left, _ := d.RecoveryCodesLeft(ctx, u.ID)
			byID, _ := d.UserByID(ctx, u.ID)
			if got.User.ID != byID.ID || got.User.Email != byID.Email || string(got.User.WebAuthnHandle) != string(byID.WebAuthnHandle) ||
				!got.User.CreatedAt.Equal(byID.CreatedAt) || got.HasPassword != hasPassword || got.HasTOTP != hasTOTP || got.RecoveryCodesLeft != left {
				t.Errorf("AccountFacts(%s) = %+v; want %+v, password %v, totp %v, %d codes left", u.Email, got, byID, hasPassword, hasTOTP, left)
			}
		}
		if got, _ := d.AccountFacts(ctx, full.ID); !got.HasPassword || !got.HasTOTP || got.RecoveryCodesLeft != 2 {
			t.Errorf("AccountFacts(full) = %+v; want a password, an app and 2 codes", got)
		}
		if _, err := d.AccountFacts(ctx, "nobody"); !errors.Is(err, sesame.ErrNotFound) {
			t.Errorf("AccountFacts(nobody) = %v; want not found", err)
		}
	})
}
