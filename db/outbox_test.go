package db_test

import (
	"context"
	"testing"
	"time"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/db"
	"github.com/sesame-auth/sesame/db/dbtest"
)

func queueTestMail(t *testing.T, d *db.DB, next, expires time.Time) sesame.QueuedMail {
	t.Helper()
	m := sesame.QueuedMail{ID: sesame.NewID(), Recipient: "q@example.com", Payload: []byte("sealed"),
		CreatedAt: next, NextAt: next, ExpiresAt: expires}
	if err := d.QueueMail(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	return m
}

func claimIDs(t *testing.T, d *db.DB, now time.Time) map[string]int {
	t.Helper()
	got, err := d.ClaimMail(context.Background(), now, now.Add(time.Minute), 10)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, m := range got {
		out[m.ID] = m.Attempts
	}
	return out
}

// TestClaimMail: only due, unleased, unexpired, queued messages are
// claimed, each once per lease, with the attempt counted; a retry frees
// one for later, a finished one is never claimed again and loses its
// payload.
func TestClaimMail(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		due := queueTestMail(t, d, t0, t0.Add(time.Hour))
		later := queueTestMail(t, d, t0.Add(time.Minute), t0.Add(time.Hour))
		queueTestMail(t, d, t0.Add(-time.Hour), t0) // expired at t0

		if got := claimIDs(t, d, t0); len(got) != 1 || got[due.ID] != 1 {
			t.Fatalf("claim at t0 = %v; want only %s, attempt 1", got, due.ID)
		}
		if got := claimIDs(t, d, t0.Add(time.Second)); len(got) != 0 {
			t.Fatalf("claim while leased = %v; want nothing", got)
		}
		if err := d.RetryMail(ctx, due.ID, t0.Add(2*time.Minute)); err != nil {
			t.Fatal(err)
		}
		if got := claimIDs(t, d, t0.Add(90*time.Second)); len(got) != 1 || got[later.ID] != 1 {
			t.Fatalf("claim at t0+90s = %v; want only %s", got, later.ID)
		}
		if got := claimIDs(t, d, t0.Add(2*time.Minute)); len(got) != 1 || got[due.ID] != 2 {
			t.Fatalf("claim at t0+2m = %v; want %s, attempt 2", got, due.ID)
		}
		if err := d.FinishMail(ctx, due.ID, sesame.MailSent, t0.Add(2*time.Minute)); err != nil {
			t.Fatal(err)
		}
		// The lease of "later" runs out: it is claimed again (at-least-once).
		if got := claimIDs(t, d, t0.Add(10*time.Minute)); len(got) != 1 || got[later.ID] != 2 {
			t.Fatalf("claim after the lease = %v; want %s again, attempt 2", got, later.ID)
		}
		// At t0+2h the one that expired at t0 and "later", whose lease
		// ran out unfinished, are given up.
		n, err := d.ExpireMail(ctx, t0.Add(2*time.Hour))
		if err != nil || n != 2 {
			t.Errorf("ExpireMail = %d, %v; want 2", n, err)
		}
		o, err := d.MailOutcomes(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if o[sesame.MailSent] != 1 || o[sesame.MailExpired] != 2 || o[sesame.MailQueued] != 0 {
			t.Errorf("outcomes %v", o)
		}
	})
}

// TestSweepMail: finished messages go a day after they finished, queued
// ones a day after they expired; the rest stay.
func TestSweepMail(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		now := t0.Add(72 * time.Hour)
		old := queueTestMail(t, d, t0, t0.Add(time.Hour))
		recent := queueTestMail(t, d, now.Add(-time.Hour), now.Add(time.Hour))
		queueTestMail(t, d, now, now.Add(time.Hour))                     // live
		queueTestMail(t, d, t0.Add(-time.Hour), t0.Add(-30*time.Minute)) // expired long ago, never tried
		for _, m := range []sesame.QueuedMail{old, recent} {
			if got := claimIDs(t, d, m.NextAt); len(got) != 1 {
				t.Fatalf("claim %v", got)
			}
			if err := d.FinishMail(ctx, m.ID, sesame.MailSent, m.NextAt); err != nil {
				t.Fatal(err)
			}
		}
		n, err := d.SweepMail(ctx, now, db.SpentKeep)
		if err != nil || n != 2 {
			t.Errorf("SweepMail = %d, %v; want 2", n, err)
		}
		o, _ := d.MailOutcomes(ctx)
		if o[sesame.MailSent] != 1 || o[sesame.MailQueued] != 1 {
			t.Errorf("outcomes after the sweep %v; want the recent sent one and the live one", o)
		}
	})
}
