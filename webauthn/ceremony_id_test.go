package webauthn_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/internal/testauthn"
	"github.com/sesame-auth/sesame/webauthn"
)

// TestCeremonyIDLengthLimit: a ceremony id of MaxCeremonyIDLength
// characters is looked up and finishes, one character more is answered
// expired without a lookup, and the ceremony stored under it stays
// unspent. Both readers are covered: the second factor's load (which a
// stored sign-in ceremony would take too) and registration's consume.
func TestCeremonyIDLengthLimit(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	alice := f.user(t, "alice@example.com")
	a := testauthn.New(origin)
	f.register(t, alice, a, "")

	// copyCeremony stores ceremony id again under an id of n characters
	// of c.
	copyCeremony := func(t *testing.T, id string, c byte, n int) string {
		t.Helper()
		cer, err := f.db.Ceremony(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		cer.ID = strings.Repeat(string(c), n)
		if err := f.db.CreateCeremony(ctx, cer); err != nil {
			t.Fatal(err)
		}
		return cer.ID
	}
	spent := func(t *testing.T, id string) bool {
		t.Helper()
		c, err := f.db.Ceremony(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return c.ConsumedAt != nil
	}

	for _, n := range []int{webauthn.MaxCeremonyIDLength, webauthn.MaxCeremonyIDLength + 1} {
		accepted := n <= webauthn.MaxCeremonyIDLength

		// A sign-in's ceremony id is a ticket (ticket.go), longer and
		// never stored; the second factor's is stored and read as a
		// sign-in's was.
		t.Run("mfa/"+strconv.Itoa(n), func(t *testing.T) {
			id, options, err := f.svc.BeginMFA(ctx, alice)
			if err != nil {
				t.Fatal(err)
			}
			long := copyCeremony(t, id, 'm', n)
			resp, err := a.Get(options)
			if err != nil {
				t.Fatal(err)
			}
			_, _, err = f.finishMFA(ctx, alice, long, resp)
			if accepted {
				if err != nil {
					t.Fatalf("finish with a %d-character id: %v; want success", n, err)
				}
				return
			}
			wantCode(t, err, sesame.EExpired)
			if spent(t, long) {
				t.Errorf("the ceremony under the %d-character id was spent", n)
			}
		})

		t.Run("registration/"+strconv.Itoa(n), func(t *testing.T) {
			before, err := f.svc.List(ctx, alice.ID)
			if err != nil {
				t.Fatal(err)
			}
			id, options, err := f.svc.BeginRegistration(ctx, alice, "")
			if err != nil {
				t.Fatal(err)
			}
			long := copyCeremony(t, id, 'r', n)
			resp, err := testauthn.New(origin).Create(options)
			if err != nil {
				t.Fatal(err)
			}
			_, err = f.svc.FinishRegistration(ctx, alice, long, resp, "")
			after, lerr := f.svc.List(ctx, alice.ID)
			if lerr != nil {
				t.Fatal(lerr)
			}
			if accepted {
				if err != nil || len(after) != len(before)+1 || !spent(t, long) {
					t.Fatalf("finish with a %d-character id: %v, %d credentials (before %d)", n, err, len(after), len(before))
				}
				return
			}
			wantCode(t, err, sesame.EExpired)
			if len(after) != len(before) || spent(t, long) {
				t.Errorf("refused %d-character id: %d credentials (before %d), ceremony spent %v", n, len(after), len(before), spent(t, long))
			}
		})
	}
}

// TestRegistrationRefusalSaysWhy: a registration finish whose ceremony was
// spent answers used, one whose ceremony ran out answers expired; both
// store nothing.
func TestRegistrationRefusalSaysWhy(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	u := f.user(t, "why@example.com")
	finish := func(t *testing.T, wait time.Duration, twice bool) error {
		t.Helper()
		id, options, err := f.svc.BeginRegistration(ctx, u, "")
		if err != nil {
			t.Fatal(err)
		}
		resp, err := testauthn.New(origin).Create(options)
		if err != nil {
			t.Fatal(err)
		}
		f.clock.Advance(wait)
		if twice {
			if _, err := f.svc.FinishRegistration(ctx, u, id, resp, ""); err != nil {
				t.Fatalf("first finish: %v", err)
			}
		}
		_, err = f.svc.FinishRegistration(ctx, u, id, resp, "")
		return err
	}
	wantCode(t, finish(t, 0, true), sesame.EUsed)
	before, _ := f.svc.List(ctx, u.ID)
	wantCode(t, finish(t, webauthn.CeremonyTTL+time.Second, false), sesame.EExpired)
	if after, _ := f.svc.List(ctx, u.ID); len(after) != len(before) {
		t.Errorf("credentials %d → %d after an expired finish", len(before), len(after))
	}
}
