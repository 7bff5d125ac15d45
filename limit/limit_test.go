package limit_test

import (
	"context"
	"testing"
	"time"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/db"
	"github.com/sesame-auth/sesame/db/dbtest"
	"github.com/sesame-auth/sesame/limit"
)

func TestAllow(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		now := time.Date(2026, 11, 24, 12, 0, 10, 0, time.UTC)
		rule := limit.Rule{Name: "test", Max: 3, Window: time.Minute}
		// Two limiters on one database stand for two instances.
		a := limit.New(d, func() time.Time { return now }, 1)
		b := limit.New(d, func() time.Time { return now }, 1)
		for i, l := range []*limit.Limiter{a, b, a} {
			if err := l.Allow(ctx, rule, "1.2.3.4"); err != nil {
				t.Fatalf("event %d: %v", i+1, err)
			}
		}
		err := b.Allow(ctx, rule, "1.2.3.4")
		var se *sesame.Error
		if sesame.ErrorCode(err) != sesame.ERateLimited {
			t.Fatalf("4th event: %v; want rate_limited", err)
		}
		if se, _ = err.(*sesame.Error); se.RetryAfter != 50*time.Second {
			t.Errorf("RetryAfter = %v; want 50s (the rest of the window)", se.RetryAfter)
		}
		if err := a.Allow(ctx, rule, "5.6.7.8"); err != nil {
			t.Errorf("another subject was limited: %v", err)
		}
		now = now.Add(time.Minute)
		if err := a.Allow(ctx, rule, "1.2.3.4"); err != nil {
			t.Errorf("next window: %v", err)
		}
		off := limit.New(d, func() time.Time { return now }, 0)
		for range 10 {
			if err := off.Allow(ctx, rule, "1.2.3.4"); err != nil {
				t.Fatalf("limits off: %v", err)
			}
		}
	})
}

// TestAllowScaled: an operator's multiplier raises every limit by that
// factor, no more.
func TestAllowScaled(t *testing.T) {
	d := dbtest.SQLite(t)
	ctx := context.Background()
	now := time.Date(2026, 11, 24, 12, 0, 10, 0, time.UTC)
	rule := limit.Rule{Name: "test", Max: 3, Window: time.Minute}
	l := limit.New(d, func() time.Time { return now }, 2)
	for i := range 6 {
		if err := l.Allow(ctx, rule, "1.2.3.4"); err != nil {
			t.Fatalf("event %d of 2×3: %v", i+1, err)
		}
	}
	if err := l.Allow(ctx, rule, "1.2.3.4"); sesame.ErrorCode(err) != sesame.ERateLimited {
		t.Fatalf("7th event with 2×3 allowed: %v; want rate_limited", err)
	}
}

// TestAllowBatched: counts stay in memory until a flush, which writes every
// key in one transaction; within one instance the limit is exact, and
// after a flush each instance sees the others' counts.
func TestAllowBatched(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		now := time.Date(2026, 11, 24, 12, 0, 10, 0, time.UTC)
		clock := func() time.Time { return now }
		rule := limit.Rule{Name: "test", Max: 5, Window: time.Minute}
		a, b := limit.New(d, clock, 1), limit.New(d, clock, 1)
		for i := range 3 {
			if err := a.AllowBatched(ctx, rule, "1.2.3.4"); err != nil {
				t.Fatalf("event %d: %v", i+1, err)
			}
		}
		if n, _ := d.TableRows(ctx, "rate_limits"); n != 0 {
			t.Fatalf("%d rate_limits rows before a flush; want none", n)
		}
		if err := a.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		// b counts 2 of its own and learns a's 3 at its flush.
		for range 2 {
			if err := b.AllowBatched(ctx, rule, "1.2.3.4"); err != nil {
				t.Fatal(err)
			}
		}
		if err := b.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		if err := b.AllowBatched(ctx, rule, "1.2.3.4"); sesame.ErrorCode(err) != sesame.ERateLimited {
			t.Errorf("6th event across two instances: %v; want rate_limited", err)
		}
		// Exact within one instance, flushed or not.
		for i := range 5 {
			if err := a.AllowBatched(ctx, rule, "5.6.7.8"); err != nil {
				t.Fatalf("other subject, event %d: %v", i+1, err)
			}
		}
		if err := a.AllowBatched(ctx, rule, "5.6.7.8"); sesame.ErrorCode(err) != sesame.ERateLimited {
			t.Errorf("6th unflushed event: %v; want rate_limited", err)
		}
		// A new window starts from nothing, and the old one is forgotten.
		now = now.Add(time.Minute)
		if err := a.AllowBatched(ctx, rule, "1.2.3.4"); err != nil {
			t.Errorf("next window: %v", err)
		}
		if err := a.Flush(ctx); err != nil {
			t.Fatal(err)
		}
	})
}
