package db_test

import (
	"bytes"
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

func credential(userID string, id []byte, created time.Time) sesame.Credential {
	return sesame.Credential{
		ID: id, UserID: userID, Name: "Passkey", PublicKey: sesame.RandomBytes(77), AAGUID: make([]byte, 16),
		Transports: []string{"hybrid", "internal"}, Attachment: "platform", AttestationType: "none", AttestationFormat: "none",
		UserVerified: true, BackupEligible: true, BackupState: true, CreatedAt: created,
	}
}

func TestCredentials(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		alice, bob := newUser(t, d, "alice@example.com"), newUser(t, d, "bob@example.com")
		first := credential(alice.ID, sesame.RandomBytes(32), t0)
		second := credential(alice.ID, sesame.RandomBytes(1023), t0.Add(time.Minute))
		second.BackupEligible, second.BackupState, second.Transports, second.SignCount = false, false, nil, 7
		for _, c := range []sesame.Credential{first, second} {
			if err := d.CreateCredential(ctx, c); err != nil {
				t.Fatalf("CreateCredential: %v", err)
			}
		}
		// Credential ids are unique across all users (SECURITY rule 6).
		for _, owner := range []string{alice.ID, bob.ID} {
			if err := d.CreateCredential(ctx, credential(owner, first.ID, t0)); sesame.ErrorCode(err) != sesame.EConflict {
				t.Errorf("CreateCredential(duplicate id for %s) = %v; want conflict", owner, err)
			}
		}
		// Longer than WebAuthn allows is refused by the schema too.
		if err := d.CreateCredential(ctx, credential(alice.ID, sesame.RandomBytes(1024), t0)); err == nil {
			t.Error("CreateCredential(1024-byte id) succeeded; want an error")
		}

		got, err := d.CredentialByID(ctx, first.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.UserID != alice.ID || !bytes.Equal(got.PublicKey, first.PublicKey) || !got.BackupEligible || !got.BackupState ||
			!got.UserVerified || len(got.Transports) != 2 || got.Transports[1] != "internal" || got.LastUsedAt != nil ||
			!got.CreatedAt.Equal(t0) || got.Attachment != "platform" || len(got.AAGUID) != 16 {
			t.Errorf("CredentialByID = %+v; want %+v", got, first)
		}
		if _, err := d.CredentialByID(ctx, []byte("nope")); !errors.Is(err, sesame.ErrNotFound) {
			t.Errorf("CredentialByID(unknown) = %v; want ErrNotFound", err)
		}
		list, err := d.CredentialsByUser(ctx, alice.ID)
		if err != nil || len(list) != 2 || !bytes.Equal(list[0].ID, first.ID) || list[1].SignCount != 7 || list[1].BackupEligible || len(list[1].Transports) != 0 {
			t.Fatalf("CredentialsByUser(alice) = %d credentials, %v; want first then second", len(list), err)
		}
		if list, err := d.CredentialsByUser(ctx, bob.ID); err != nil || len(list) != 0 {
			t.Fatalf("CredentialsByUser(bob) = %v, %v; want none", list, err)
		}

		// Rename and delete only touch the owner's credential.
		if _, err := d.RenameCredential(ctx, bob.ID, first.ID, "Bob's now"); !errors.Is(err, sesame.ErrNotFound) {
			t.Errorf("RenameCredential(not the owner) = %v; want ErrNotFound", err)
		}
		if c, err := d.RenameCredential(ctx, alice.ID, first.ID, "Work laptop"); err != nil || c.Name != "Work laptop" {
			t.Errorf("RenameCredential = %+v, %v; want Work laptop", c, err)
		}
		if err := d.DeleteCredential(ctx, bob.ID, second.ID); !errors.Is(err, sesame.ErrNotFound) {
			t.Errorf("DeleteCredential(not the owner) = %v; want ErrNotFound", err)
		}
		if err := d.DeleteCredential(ctx, alice.ID, second.ID); err != nil {
			t.Fatal(err)
		}
		if err := d.DeleteCredential(ctx, alice.ID, second.ID); !errors.Is(err, sesame.ErrNotFound) {
			t.Errorf("DeleteCredential twice = %v; want ErrNotFound", err)
		}
	})
}

// TestUseCredentialCompareAndSwap: of concurrent sign-ins that read the same
// counter, exactly one stores its new count (SECURITY rule 8).
func TestUseCredentialCompareAndSwap(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		u := newUser(t, d, "carol@example.com")
		c := credential(u.ID, sesame.RandomBytes(16), t0)
		c.SignCount, c.BackupState = 5, false
		if err := d.CreateCredential(ctx, c); err != nil {
			t.Fatal(err)
		}
		var won atomic.Int32
		var wg sync.WaitGroup
		for i := range 10 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				next := c
				next.SignCount, next.BackupState = uint32(6+i), true
				switch err := d.UseCredential(ctx, next, 5, t0.Add(time.Hour)); {
				case err == nil:
					won.Add(1)
				case !errors.Is(err, sesame.ErrNotFound):
					t.Errorf("UseCredential: %v", err)
				}
			}()
		}
		wg.Wait()
		if won.Load() != 1 {
			t.Fatalf("%d concurrent UseCredential calls succeeded; want 1", won.Load())
		}
		got, err := d.CredentialByID(ctx, c.ID)
		if err != nil || got.SignCount < 6 || !got.BackupState || got.LastUsedAt == nil || !got.LastUsedAt.Equal(t0.Add(time.Hour)) {
			t.Fatalf("after use: %+v, %v", got, err)
		}
		// A credential removed in the meantime cannot be used.
		if err := d.DeleteCredential(ctx, u.ID, c.ID); err != nil {
			t.Fatal(err)
		}
		if err := d.UseCredential(ctx, got, got.SignCount, t0); !errors.Is(err, sesame.ErrNotFound) {
			t.Fatalf("UseCredential(deleted) = %v; want ErrNotFound", err)
		}
	})
}
