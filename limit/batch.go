package limit

import (
	"context"
	"sync"
	"time"

	"github.com/sesame-auth/sesame"
)

// batch is one key's events counted in memory since the last flush.
type batch struct {
	key         string
	windowStart time.Time
	window      time.Duration
	n           int
}

// BatchStore adds n keys' counts in one transaction (count i is hit(i))
// and returns each key's total after it; db.DB implements it.
type BatchStore interface {
	HitBatch(ctx context.Context, n int, hit func(i int) (key string, windowStart time.Time, window time.Duration, count int)) ([]int, error)
}

// FlushEvery is how often AllowBatched's counts reach the database.
const FlushEvery = 250 * time.Millisecond

// maxLocalKeys bounds the memory of batched counting: beyond it, new keys
// are counted in the database at once, as Allow does.
const maxLocalKeys = 100_000

// local is one key's count in this instance: shared is the total the
// database had at the last flush (every instance's), inflight what a
// flush is writing now, pending what came since.
type local struct {
	start                     time.Time
	window                    time.Duration
	shared, inflight, pending int
}

// batcher holds the in-memory counts of a Limiter.
type batcher struct {
	store BatchStore
	mu    sync.Mutex
	keys  map[string]*local
}

// AllowBatched is Allow without a database write on the request's path:
// the event is counted in this instance's memory, and Flush adds the
// counts of every key to the database in one transaction (FlushEvery, by
// Run), where instances sharing it see each other's. Within one instance
// the limit is exact; across N instances a limit may be passed by what
// the others counted in the last FlushEvery. That is the right trade for
// per-IP limits, which bound floods; limits that bound guessing for one
// account or address use Allow.
func (l *Limiter) AllowBatched(ctx context.Context, rule Rule, subject string) error {
	if l.scale == 0 {
		return nil
	}
	if l.batch == nil {
		return l.Allow(ctx, rule, subject)
	}
	now := l.now()
	start := now.Truncate(rule.Window)
	key := rule.Name + ":" + subject
	b := l.batch
	b.mu.Lock()
	e := b.keys[key]
	if e == nil || !e.start.Equal(start) {
		if e == nil && len(b.keys) >= maxLocalKeys {
			b.mu.Unlock()
			return l.Allow(ctx, rule, subject)
		}
		e = &local{start: start, window: rule.Window}
		b.keys[key] = e
	}
	e.pending++
	n := e.shared + e.inflight + e.pending
	b.mu.Unlock()
	if n > rule.Max*l.scale {
		return limited(start.Add(rule.Window).Sub(now))
	}
	return nil
}

// Flush writes the counts AllowBatched gathered since the last flush, in
// one transaction, and learns every key's total across instances. Keys of
// windows that have ended are forgotten.
func (l *Limiter) Flush(ctx context.Context) error {
	b := l.batch
	if b == nil {
		return nil
	}
	now := l.now()
	var keys []string
	var batches []batch
	b.mu.Lock()
	for k, e := range b.keys {
		switch {
		case e.pending > 0:
			keys = append(keys, k)
			batches = append(batches, batch{key: k, windowStart: e.start, window: e.window, n: e.pending})
			e.inflight, e.pending = e.pending, 0
		case !now.Before(e.start.Add(e.window)) && e.inflight == 0:
			delete(b.keys, k)
		}
	}
	b.mu.Unlock()
	if len(batches) == 0 {
		return nil
	}
	totals, err := b.store.HitBatch(ctx, len(batches), func(i int) (string, time.Time, time.Duration, int) {
		return batches[i].key, batches[i].windowStart, batches[i].window, batches[i].n
	})
	b.mu.Lock()
	defer b.mu.Unlock()
	for i, k := range keys {
		e := b.keys[k]
		if e == nil || !e.start.Equal(batches[i].windowStart) {
			continue // a new window began meanwhile
		}
		if err != nil {
			e.pending += e.inflight // counted again at the next flush
		} else {
			e.shared = totals[i]
		}
		e.inflight = 0
	}
	return err
}

// Run flushes every FlushEvery until ctx ends, then once more; errors go
// to report.
func (l *Limiter) Run(ctx context.Context, report func(error)) {
	t := time.NewTicker(FlushEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			if err := l.Flush(fctx); err != nil && report != nil {
				report(err)
			}
			return
		case <-t.C:
			if err := l.Flush(ctx); err != nil && report != nil {
				report(err)
			}
		}
	}
}

func limited(retryAfter time.Duration) error {
	return &sesame.Error{
		Code:       sesame.ERateLimited,
		Message:    "Too many attempts. Wait a little and try again.",
		RetryAfter: retryAfter,
	}
}
