package retry

import (
	"log/slog"
	"sync"
	"sync/atomic"
)

// Claims is an outbox worker's memory of whether its last claim failed,
// so that a store outage is logged once when it begins and once when it
// ends, not at every poll.
type Claims struct {
	Name string // the outbox, as the log lines name it
	Log  *slog.Logger
	down atomic.Bool
}

// Failed records a claim that failed with err.
func (c *Claims) Failed(err error) {
	if !c.down.Swap(true) {
		c.Log.Warn(c.Name+": cannot read the outbox; retrying every poll", "err", err)
	}
}

// Succeeded records a claim that worked.
func (c *Claims) Succeeded() {
	if c.down.Swap(false) {
		c.Log.Info(c.Name + ": the outbox can be read again")
	}
}

// Each runs send on every item of a claimed batch at once, waits for all
// of them, and returns how many there were.
func Each[T any](batch []T, send func(T)) int {
	var wg sync.WaitGroup
	for _, item := range batch {
		wg.Add(1)
		go func() {
			defer wg.Done()
			send(item)
		}()
	}
	wg.Wait()
	return len(batch)
}
