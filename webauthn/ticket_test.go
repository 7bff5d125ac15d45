package webauthn_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/internal/testauthn"
	"github.com/sesame-auth/sesame/webauthn"
)

// TestSignInTicket: a sign-in's ceremony id is a sealed ticket
// (SECURITY rule 1). One altered in any way, made by another installation
// or for another purpose answers expired and writes nothing; a ticket is
// spent by its first finish, success or failure, and then answers used.
func TestSignInTicket(t *testing.T) {
	ctx := context.Background()
	// edit turns the ticket alice's login began (email-first) into what
	// the finish is given.
	for _, tc := range []struct {
		name string
		edit func(t *testing.T, f *fixture, id, alice, bob string) string
	}{
		// A ticket is sealed by a stream cipher: flipping a bit of the
		// sealed text flips the same bit of what it carries. Each of
		// these edits would change the ticket as planned without the tag.
		{"expiry moved on, tag kept", func(t *testing.T, f *fixture, id, _, _ string) string {
			return flip(t, id, webauthn.TicketNonce+7, 0x40) // the expiry's third-lowest byte: about 4.6 hours on
		}},
		{"user swapped, tag kept", func(t *testing.T, f *fixture, id, alice, bob string) string {
			raw := decodeTicket(t, id)
			at := webauthn.TicketNonce + webauthn.TicketUserOffset
			for i := range bob {
				raw[at+i] ^= alice[i] ^ bob[i]
			}
			return "l." + base64.RawURLEncoding.EncodeToString(raw)
		}},
		{"a bit of the tag flipped", func(t *testing.T, f *fixture, id, _, _ string) string {
			return flip(t, id, len(decodeTicket(t, id))-1, 1)
		}},
		{"a bit of the nonce flipped", func(t *testing.T, f *fixture, id, _, _ string) string { return flip(t, id, 0, 1) }},
		{"made discoverable, tag kept", func(t *testing.T, f *fixture, id, _, _ string) string {
			return flip(t, id, webauthn.TicketNonce, 'U'^'D')
		}},
		{"truncated", func(t *testing.T, f *fixture, id, _, _ string) string { return id[:len(id)-4] }},
		{"not base64", func(t *testing.T, f *fixture, id, _, _ string) string { return id[:10] + "!" + id[11:] }},
		{"sealed for another purpose", func(t *testing.T, f *fixture, id, _, _ string) string {
			return webauthn.Reseal(f.svc, id, "sesame/v1/mfa-ticket", "")
		}},
		{"another installation's ticket", func(t *testing.T, f *fixture, _, _, _ string) string {
			other := newFixture(t, func(c *webauthn.Config) { c.ChallengeKey = bytes.Repeat([]byte{1}, 32) })
			id, _, err := other.svc.BeginLogin(ctx, "alice@example.com")
			if err != nil {
				t.Fatal(err)
			}
			return id
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, nil)
			alice, bob := f.user(t, "alice@example.com"), f.user(t, "bob@example.com")
			a := testauthn.New(origin)
			a.Options.CountSignatures = true
			before := f.register(t, alice, a, "")
			f.register(t, bob, testauthn.New(origin), "")
			id, opts, err := f.svc.BeginLogin(ctx, "alice@example.com")
			if err != nil {
				t.Fatal(err)
			}
			resp, _ := a.Get(opts)
			_, _, _, err = f.finishLogin(ctx, tc.edit(t, f, id, alice.ID, bob.ID), resp)
			wantCode(t, err, sesame.EExpired)
			wantUnspent(t, f, before)
			// The ticket as issued still works, once.
			if got, _, _, err := f.finishLogin(ctx, id, resp); err != nil || got.ID != alice.ID {
				t.Fatalf("the ticket as issued = %v, %v", got.ID, err)
			}
			_, _, _, err = f.finishLogin(ctx, id, resp)
			wantCode(t, err, sesame.EUsed)
		})
	}

	t.Run("replayed after a failure", func(t *testing.T) {
		f := newFixture(t, nil)
		a := testauthn.New(origin)
		f.register(t, f.user(t, "a@example.com"), a, "")
		id, opts, _ := f.svc.BeginLogin(ctx, "")
		good, _ := a.Get(opts)
		bad := bytes.Replace(good, []byte(`"signature":"`), []byte(`"signature":"AAAA`), 1)
		_, _, _, err := f.finishLogin(ctx, id, bad)
		wantCode(t, err, sesame.ECeremonyFailed)
		_, _, _, err = f.finishLogin(ctx, id, good)
		wantCode(t, err, sesame.EUsed)
	})

	t.Run("expired, then swept", func(t *testing.T) {
		f := newFixture(t, nil)
		a := testauthn.New(origin)
		f.register(t, f.user(t, "a@example.com"), a, "")
		id, opts, _ := f.svc.BeginLogin(ctx, "")
		resp, _ := a.Get(opts)
		if _, _, _, err := f.finishLogin(ctx, id, resp); err != nil {
			t.Fatal(err)
		}
		f.clock.Advance(webauthn.CeremonyTTL)
		_, _, _, err := f.finishLogin(ctx, id, resp)
		wantCode(t, err, sesame.EExpired)
		if _, _, err := f.db.SweepExpired(ctx, f.clock.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if n, err := f.db.TableRows(ctx, "spent_challenges"); err != nil || n != 0 {
			t.Fatalf("spent challenges after the sweep: %d, %v; want 0", n, err)
		}
		_, _, _, err = f.finishLogin(ctx, id, resp)
		wantCode(t, err, sesame.EExpired)
	})

	t.Run("stores nothing at begin, one length", func(t *testing.T) {
		f := newFixture(t, nil)
		f.register(t, f.user(t, "a@example.com"), testauthn.New(origin), "")
		registration, err := f.db.TableRows(ctx, "webauthn_ceremonies")
		if err != nil {
			t.Fatal(err)
		}
		lengths := map[int]bool{}
		for _, email := range []string{"", "a@example.com", "nobody@example.com"} {
			id, _, err := f.svc.BeginLogin(ctx, email)
			if err != nil || !strings.HasPrefix(id, "l.") {
				t.Fatalf("BeginLogin(%q) = %q, %v", email, id, err)
			}
			lengths[len(id)] = true
		}
		if len(lengths) != 1 {
			t.Errorf("ticket lengths %v; want one length for every ticket (rules 10, 55)", lengths)
		}
		for table, want := range map[string]int{"webauthn_ceremonies": registration, "spent_challenges": 0} {
			if n, err := f.db.TableRows(ctx, table); err != nil || n != want {
				t.Fatalf("%s after three begins: %d, %v; want %d", table, n, err, want)
			}
		}
	})
}

// flip returns ticket id with byte at of its decoded bytes XORed with
// mask.
func flip(t *testing.T, id string, at int, mask byte) string {
	raw := decodeTicket(t, id)
	raw[at] ^= mask
	return "l." + base64.RawURLEncoding.EncodeToString(raw)
}

func decodeTicket(t *testing.T, id string) []byte {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(id, "l."))
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// wantUnspent fails unless nothing was written: no challenge spent and the
// credential's counter as it was.
func wantUnspent(t *testing.T, f *fixture, before sesame.Credential) {
	t.Helper()
	if n, err := f.db.TableRows(context.Background(), "spent_challenges"); err != nil || n != 0 {
		t.Fatalf("spent challenges: %d, %v; want none", n, err)
	}
	if after, err := f.db.CredentialByID(context.Background(), before.ID); err != nil || after.SignCount != before.SignCount || after.LastUsedAt != nil {
		t.Fatalf("credential after a refused finish: %+v, %v; want it unused", after, err)
	}
}
