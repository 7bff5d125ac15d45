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

func TestTarpitDelays(t *testing.T) {
	tp := limit.NewPasswordTarpit(nil, nil)
	for _, c := range []struct {
		count int
		want  time.Duration
	}{{0, 0}, {9, 0}, {10, 30 * time.Second}, {11, time.Minute}, {12, 2 * time.Minute}, {16, 32 * time.Minute}, {17, time.Hour}, {100, time.Hour}} {
		if got := tp.Delay(c.count); got != c.want {
			t.Errorf("Delay(%d) = %v; want %v", c.count, got, c.want)
		}
	}
}

func TestTarpitSlowsButNeverLocks(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
		tp := limit.NewPasswordTarpit(d, func() time.Time { return now })
		for i := range 10 {
			if err := tp.Check(ctx, "alice@example.com"); err != nil {
				t.Fatalf("failure %d: blocked early: %v", i, err)
			}
			if err := tp.Fail(ctx, "alice@example.com"); err != nil {
				t.Fatal(err)
			}
		}
		err := tp.Check(ctx, "alice@example.com")
		if se, ok := err.(*sesame.Error); !ok || se.Code != sesame.ERateLimited || se.RetryAfter != 30*time.Second {
			t.Fatalf("after 10 failures: %v; want rate_limited, retry after 30s", err)
		}
		if err := tp.Check(ctx, "bob@example.com"); err != nil {
			t.Fatalf("another account was slowed: %v", err)
		}
		now = now.Add(31 * time.Second) // the wait is over: one more try is allowed
		if err := tp.Check(ctx, "alice@example.com"); err != nil {
			t.Fatalf("after the wait: %v", err)
		}
		_ = tp.Fail(ctx, "alice@example.com")
		if se, _ := tp.Check(ctx, "alice@example.com").(*sesame.Error); se == nil || se.RetryAfter != time.Minute {
			t.Fatalf("11th failure: want a 1 minute wait, got %v", se)
		}
		now = now.Add(time.Minute)
		if err := tp.Succeed(ctx, "alice@example.com"); err != nil {
			t.Fatal(err)
		}
		if err := tp.Check(ctx, "alice@example.com"); err != nil {
			t.Fatalf("after a success: %v", err)
		}
	})
}

// TestTarpitClaimInParallel: claims made at once get no more free
// failures than claims made one after another (SECURITY rule 53).
func TestTarpitClaimInParallel(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
		tp := limit.NewPasswordTarpit(d, func() time.Time { return now })
		results := make(chan error, 30)
		for range 30 {
			go func() { results <- tp.Claim(ctx, "alice@example.com") }()
		}
		claimed := 0
		for range 30 {
			switch err := <-results; {
			case err == nil:
				claimed++
			case sesame.ErrorCode(err) != sesame.ERateLimited:
				t.Fatalf("claim: %v", err)
			}
		}
		if claimed != 10 {
			t.Fatalf("%d of 30 parallel claims went through; want the 10 free ones", claimed)
		}
		if err := tp.Succeed(ctx, "alice@example.com"); err != nil {
			t.Fatal(err)
		}
		if err := tp.Claim(ctx, "alice@example.com"); err != nil {
			t.Fatalf("after a success: %v", err)
		}
	})
}

// TestTarpitClaimAtTheBoundary: the wait ends exactly when Delay says, not a
// millisecond earlier or later.
func TestTarpitClaimAtTheBoundary(t *testing.T) {
	d := dbtest.SQLite(t)
	ctx := context.Background()
	start := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	now := start
	tp := limit.NewPasswordTarpit(d, func() time.Time { return now })
	for i := range 10 {
		if err := tp.Claim(ctx, "alice@example.com"); err != nil {
			t.Fatalf("claim %d: %v", i+1, err)
		}
	}
	now = start.Add(30*time.Second - time.Millisecond)
	if err := tp.Claim(ctx, "alice@example.com"); sesame.ErrorCode(err) != sesame.ERateLimited {
		t.Fatalf("a millisecond before the wait ends: %v; want rate_limited", err)
	}
	now = start.Add(30 * time.Second)
	if err := tp.Claim(ctx, "alice@example.com"); err != nil {
		t.Fatalf("when the wait ends: %v; want allowed", err)
	}
}
