package retry

import (
	"testing"
	"time"
)

// TestBackoff: the wait doubles with each try, stops at the maximum, and
// stays within ±20 % of the nominal wait.
func TestBackoff(t *testing.T) {
	for _, tc := range []struct {
		attempt int
		want    time.Duration
	}{{1, time.Second}, {2, 2 * time.Second}, {3, 4 * time.Second}, {5, 10 * time.Second}, {40, 10 * time.Second}} {
		for range 50 {
			got := Backoff(time.Second, 10*time.Second, tc.attempt)
			if got < tc.want*8/10 || got > tc.want*12/10 {
				t.Fatalf("Backoff(1s, 10s, %d) = %v; want %v ±20 %%", tc.attempt, got, tc.want)
			}
		}
	}
}
