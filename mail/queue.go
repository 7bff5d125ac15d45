package mail

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// QueueAttempts is how many times the Queue tries to send one message: once,
// then up to three retries.
const QueueAttempts = 4

// Queue sends mail off the request path, so an endpoint answers in the same
// time whether or not it sent a message (SECURITY rule 35). A fixed set of
// workers takes messages from a bounded buffer and retries failed sends with
// a short backoff. Its methods are safe for concurrent use.
//
// Log lines name the recipient and subject, never the body.
type Queue struct {
	sender  Sender
	log     *slog.Logger
	backoff func(retry int) time.Duration

	jobs chan Message
	ctx  context.Context // canceled when Close gives up waiting
	stop context.CancelFunc
	wg   sync.WaitGroup

	mu     sync.RWMutex // guards closed against a send on the closed jobs channel
	closed bool

	sent, failed, dropped atomic.Uint64
}

// QueueStats counts what a Queue did, for metrics.
type QueueStats struct {
	Sent    uint64 // delivered to the Sender
	Failed  uint64 // given up after QueueAttempts tries, or abandoned by Close
	Dropped uint64 // refused by Enqueue: queue full or closed
	Queued  int    // waiting in the buffer now
}

// NewQueue starts workers goroutines (at least 1) that send through s
// messages waiting in a buffer of capacity (at least 1). Call Close to stop
// them. A nil log discards.
func NewQueue(s Sender, log *slog.Logger, workers, capacity int) *Queue {
	return newQueue(s, log, workers, capacity, func(retry int) time.Duration {
		return time.Duration(retry) * 500 * time.Millisecond // 0.5 s, 1 s, 1.5 s
	})
}

func newQueue(s Sender, log *slog.Logger, workers, capacity int, backoff func(int) time.Duration) *Queue {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	workers = max(workers, 1)
	capacity = max(capacity, 1)
	ctx, stop := context.WithCancel(context.Background())
	q := &Queue{
		sender:  s,
		log:     log,
		backoff: backoff,
		jobs:    make(chan Message, capacity),
		ctx:     ctx,
		stop:    stop,
	}
	q.wg.Add(workers)
	for range workers {
		go q.work()
	}
	return q
}

// Enqueue hands m to the workers and reports whether it was accepted. It
// never blocks: when the buffer is full, or the queue closed, it logs an
// error and returns false.
func (q *Queue) Enqueue(m Message) bool {
	q.mu.RLock()
	defer q.mu.RUnlock()
	if q.closed {
		q.dropped.Add(1)
		q.log.Error("mail not sent: queue closed", "to", m.To, "subject", m.Subject)
		return false
	}
	select {
	case q.jobs <- m:
		return true
	default:
		q.dropped.Add(1)
		q.log.Error("mail not sent: queue full", "to", m.To, "subject", m.Subject, "capacity", cap(q.jobs))
		return false
	}
}

// Close stops accepting messages and waits until the workers have sent
// those already queued. If ctx ends first, it cancels the sends in progress,
// abandons the rest, and returns ctx's error without waiting further.
func (q *Queue) Close(ctx context.Context) error {
	q.mu.Lock()
	if !q.closed {
		q.closed = true
		close(q.jobs)
	}
	q.mu.Unlock()

	done := make(chan struct{})
	go func() {
		q.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		q.stop()
		return ctx.Err()
	}
}

// Stats returns the queue's counters.
func (q *Queue) Stats() QueueStats {
	return QueueStats{
		Sent:    q.sent.Load(),
		Failed:  q.failed.Load(),
		Dropped: q.dropped.Load(),
		Queued:  len(q.jobs),
	}
}

func (q *Queue) work() {
	defer q.wg.Done()
	for m := range q.jobs {
		q.deliver(m)
	}
}

// deliver tries to send m up to QueueAttempts times.
func (q *Queue) deliver(m Message) {
	var err error
	for try := range QueueAttempts {
		if try > 0 {
			t := time.NewTimer(q.backoff(try))
			select {
			case <-t.C:
			case <-q.ctx.Done():
				t.Stop()
			}
		}
		if q.ctx.Err() != nil {
			q.failed.Add(1)
			q.log.Error("mail not sent: queue closed before delivery", "to", m.To, "subject", m.Subject)
			return
		}
		ctx, cancel := context.WithTimeout(q.ctx, 2*SMTPTimeout)
		err = q.sender.Send(ctx, m)
		cancel()
		if err == nil {
			q.sent.Add(1)
			return
		}
		q.log.Warn("mail send failed", "to", m.To, "subject", m.Subject, "attempt", try+1, "err", err)
	}
	q.failed.Add(1)
	q.log.Error("mail not sent: giving up", "to", m.To, "subject", m.Subject, "attempts", QueueAttempts, "err", err)
}
