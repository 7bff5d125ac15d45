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
