package limit

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sesame-auth/sesame"
)

// FailureStore keeps consecutive failures per subject; db.DB implements it.
type FailureStore interface {
	RecordFailure(ctx context.Context, key string, at time.Time) (int, error)
	Failures(ctx context.Context, key string) (count int, last time.Time, err error)
	ClearFailures(ctx context.Context, key string) error
	// ClaimFailure adds one failure to key only if it still has seen
	// failures, and reports whether it did: a compare-and-swap.
	ClaimFailure(ctx context.Context, key string, seen int, at time.Time) (bool, error)
}

// maxClaimRounds bounds how often Claim retries when other attempts on the
// same subject move the count under it.
const maxClaimRounds = 64

// Tarpit slows down guessing after repeated failures without ever locking
// an account: after Free failures each further try must wait, starting at
// First and doubling up to Max, counted from the last failure. A success
// resets it. A hard lock would let anyone lock a victim out (SECURITY rule 34).
type Tarpit struct {
	store FailureStore
	now   func() time.Time
	name  string
	Free  int
	First time.Duration
	Max   time.Duration
}

// NewPasswordTarpit returns the tarpit of password sign-in: 10 free
// failures, then 30 s doubling to 1 h.
func NewPasswordTarpit(store FailureStore, now func() time.Time) *Tarpit {
	if now == nil {
		now = time.Now
	}
	return &Tarpit{store: store, now: now, name: "password", Free: 10, First: 30 * time.Second, Max: time.Hour}
}

// Delay is the wait imposed after count consecutive failures.
func (t *Tarpit) Delay(count int) time.Duration {
	if count < t.Free {
		return 0
	}
	d := t.First
	for i := t.Free; i < count && d < t.Max; i++ {
		d *= 2
	}
	return min(d, t.Max)
}

// Check returns rate_limited with Retry-After while subject must wait.
func (t *Tarpit) Check(ctx context.Context, subject string) error {
	count, last, err := t.store.Failures(ctx, t.name+":"+subject)
	if errors.Is(err, sesame.ErrNotFound) {
		return nil
	} else if err != nil {
		return fmt.Errorf("tarpit: %w", err)
	}
	if wait := last.Add(t.Delay(count)).Sub(t.now()); wait > 0 {
		return &sesame.Error{Code: sesame.ERateLimited, Message: "Too many failed attempts. Wait a little and try again.", RetryAfter: wait}
	}
	return nil
}

// Claim is Check and Fail in one step, for where the proof is checked
// (SECURITY rule 53): unless subject must wait, it counts the attempt as a
// failure before the proof is looked at, by a compare-and-swap on the
// count, so attempts made in parallel get no more free failures than
// attempts made one after another. A success then clears the count
// (Succeed); a failure needs nothing more.
func (t *Tarpit) Claim(ctx context.Context, subject string) error {
	key := t.name + ":" + subject
	for range maxClaimRounds {
		count, last, err := t.store.Failures(ctx, key)
		if errors.Is(err, sesame.ErrNotFound) {
			count = 0
		} else if err != nil {
			return fmt.Errorf("tarpit: %w", err)
		}
		now := t.now()
		if wait := last.Add(t.Delay(count)).Sub(now); count > 0 && wait > 0 {
			return &sesame.Error{Code: sesame.ERateLimited, Message: "Too many failed attempts. Wait a little and try again.", RetryAfter: wait}
		}
		ok, err := t.store.ClaimFailure(ctx, key, count, now)
		if err != nil {
			return fmt.Errorf("tarpit: %w", err)
		} else if ok {
			return nil
		}
	}
	// Many attempts at once on one subject: that is an attack.
	return &sesame.Error{Code: sesame.ERateLimited, Message: "Too many failed attempts. Wait a little and try again.", RetryAfter: time.Second}
}

// Fail records a failure of subject.
func (t *Tarpit) Fail(ctx context.Context, subject string) error {
	_, err := t.store.RecordFailure(ctx, t.name+":"+subject, t.now())
	return err
}

// Succeed resets subject's failures.
func (t *Tarpit) Succeed(ctx context.Context, subject string) error {
	return t.store.ClearFailures(ctx, t.name+":"+subject)
}
