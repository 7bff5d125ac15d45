// Package retry computes the waits between the tries of an outbox worker
// (the mail outbox, the back-channel logout outbox).
package retry

import (
	"math/rand/v2"
	"time"
)

// Backoff is the wait after the attempt-th failed try (1 for the first):
// first, doubled for each earlier try, at most max, then ±20 % so that
// rows that failed together are not all tried again together.
func Backoff(first, max time.Duration, attempt int) time.Duration {
	d := first
	for i := 1; i < attempt && d < max; i++ {
		d *= 2
	}
	d = min(d, max)
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}
