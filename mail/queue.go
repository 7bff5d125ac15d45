package mail

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/internal/retry"
)

// Store is the durable outbox the Queue sends from; db.DB implements it.
// Every method is one statement, so a crash leaves no half-done row.
type Store interface {
	// QueueMail stores a message prepared by Prepare.
	QueueMail(ctx context.Context, m sesame.QueuedMail) error
	// ClaimMail leases up to limit queued messages that are due at now and
	// not leased by another worker, until leaseUntil, counting an attempt
	// on each. Two workers never claim one message at the same time.
	ClaimMail(ctx context.Context, now, leaseUntil time.Time, limit int) ([]sesame.QueuedMail, error)
	// RetryMail frees a claimed message for another try at next.
	RetryMail(ctx context.Context, id string, next time.Time) error
	// FinishMail records that a message was sent or given up (status), and
	// wipes its payload.
	FinishMail(ctx context.Context, id, status string, now time.Time) error
	// ExpireMail gives up every queued message past its expiry and reports
	// how many.
	ExpireMail(ctx context.Context, now time.Time) (int64, error)
}

// storeTimeout bounds each outbox statement, so a database that hangs
// holds no worker for long.
const storeTimeout = 5 * time.Second

// Defaults of QueueConfig.
const (
	DefaultWorkers      = 4
	DefaultPoll         = time.Second
	DefaultFirstBackoff = 2 * time.Second
	DefaultMaxBackoff   = 5 * time.Minute
	// DefaultNoticeTTL is how long a notice is worth sending.
	DefaultNoticeTTL = 24 * time.Hour
	// RelayWarnAfter is how long sends must have been failing before the
	// queue warns, once per such period, that the relay is down.
	RelayWarnAfter = time.Minute
)

// QueueConfig configures a Queue. Store, Sender and Key are required.
type QueueConfig struct {
	Store  Store
	Sender Sender
	// Key seals drafts at rest (sesame.PurposeMailSeal).
	Key []byte
	// Domain is the right-hand side of Message-IDs: the From address's.
	Domain string
	Log    *slog.Logger
	Now    func() time.Time
	// Workers is how many messages one instance sends at once.
	Workers int
	// Poll is how often the outbox is read for due messages besides the
	// wake-ups of messages queued here; messages queued by another
	// instance, and retries, wait for it.
	Poll time.Duration
	// FirstBackoff is the wait before the first retry; each later one
	// doubles, up to MaxBackoff, with ±20 % jitter.
	FirstBackoff, MaxBackoff time.Duration
	// Lease is how long a claimed message is kept from other workers. It
	// exceeds the longest send; a worker that dies mid-send leaves the
	// message to be sent again (at-least-once) when it runs out.
	Lease time.Duration
	// NoticeTTL is how long a message queued with Enqueue is tried.
	NoticeTTL time.Duration
}

// Queue is the durable mail outbox. Requests store drafts (Prepare inside
// their own transaction, or Enqueue); workers render and send them with
// retries and exponential backoff until they are sent or of no more use.
// Any instance on the database sends any message; a message is sent once
// in the normal case and at least once after a crash, always with the same
// Message-ID. Its methods are safe for concurrent use.
//
// Log lines name the recipient, subject and id, never the body.
type Queue struct {
	cfg  QueueConfig
	seal sealer

	wake chan struct{}
	stop context.CancelFunc // ends the claim loop
	// sendCtx bounds the sends in flight; canceled when Close gives up.
	sendCtx    context.Context
	cancelSend context.CancelFunc
	done       chan struct{} // closed when the loop has returned

	queued, sent, retried, expired, failed atomic.Uint64
	claims                                 *retry.Claims // logs an outage of the outbox once

	mu           sync.Mutex // guards the relay state below
	failingSince time.Time  // first failure since the last success
	warnedAt     time.Time
}

// QueueStats counts what this instance's Queue did, for metrics.
type QueueStats struct {
	Queued  uint64 // drafts stored (Enqueue, or Prepare and then Queued)
	Sent    uint64 // accepted by the relay
	Retried uint64 // failed tries that will be tried again
	Expired uint64 // given up: no longer of use
	Failed  uint64 // given up: could not be rendered (a bug)
}

// NewQueue starts the workers. Call Close to stop them.
func NewQueue(cfg QueueConfig) (*Queue, error) {
	if cfg.Store == nil || cfg.Sender == nil {
		return nil, errors.New("mail: a queue needs a Store and a Sender")
	}
	seal, err := newSealer(cfg.Key)
	if err != nil {
		return nil, err
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Domain == "" {
		cfg.Domain = "localhost"
	}
	if cfg.Workers <= 0 {
		cfg.Workers = DefaultWorkers
	}
	cfg.Poll = cmp(cfg.Poll, DefaultPoll)
	cfg.FirstBackoff = cmp(cfg.FirstBackoff, DefaultFirstBackoff)
	cfg.MaxBackoff = cmp(cfg.MaxBackoff, DefaultMaxBackoff)
	cfg.Lease = cmp(cfg.Lease, 2*SMTPTimeout+10*time.Second)
	cfg.NoticeTTL = cmp(cfg.NoticeTTL, DefaultNoticeTTL)

	loopCtx, stop := context.WithCancel(context.Background())
	sendCtx, cancelSend := context.WithCancel(context.Background())
	q := &Queue{
		cfg: cfg, seal: seal, claims: &retry.Claims{Name: "mail outbox", Log: cfg.Log},
		wake: make(chan struct{}, 1),
		stop: stop, sendCtx: sendCtx, cancelSend: cancelSend,
		done: make(chan struct{}),
	}
	go q.loop(loopCtx)
	return q, nil
}

// cmp returns v, or def when v is not positive.
func cmp(v, def time.Duration) time.Duration {
	if v <= 0 {
		return def
	}
	return v
}

// Prepare seals d for the outbox, to be stored by the caller in the same
// transaction as what it announces, then announced with Queued. It is tried
// until expires. It costs the same for every draft of similar size, and
// renders nothing (SECURITY rule 35).
func (q *Queue) Prepare(d Draft, expires time.Time) (sesame.QueuedMail, error) {
	plain, err := d.encode()
	if err != nil {
		return sesame.QueuedMail{}, err
	}
	now := q.cfg.Now()
	id := sesame.NewID()
	return sesame.QueuedMail{
		ID:        id,
		Recipient: d.to,
		Payload:   q.seal.seal(id, plain),
		CreatedAt: now,
		NextAt:    now,
		ExpiresAt: expires,
	}, nil
}

// Queued counts n prepared messages that were committed and wakes a worker
// to send them now.
func (q *Queue) Queued(n int) {
	q.queued.Add(uint64(n))
	select {
	case q.wake <- struct{}{}:
	default: // a wake-up is already pending
	}
}

// Enqueue stores d for NoticeTTL in a statement of its own (for notices,
// which no transaction of theirs announces) and reports whether it was
// stored. A failure is logged.
func (q *Queue) Enqueue(d Draft) bool {
	m, err := q.Prepare(d, q.cfg.Now().Add(q.cfg.NoticeTTL))
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
		err = q.cfg.Store.QueueMail(ctx, m)
		cancel()
	}
	if err != nil {
		q.cfg.Log.Error("mail not queued", "to", d.to, "template", d.template, "err", err)
		return false
	}
	q.Queued(1)
	return true
}

// Stats returns this instance's counters.
func (q *Queue) Stats() QueueStats {
	return QueueStats{
		Queued:  q.queued.Load(),
		Sent:    q.sent.Load(),
		Retried: q.retried.Load(),
		Expired: q.expired.Load(),
		Failed:  q.failed.Load(),
	}
}

// Close stops claiming messages and waits for the sends in flight. If ctx
// ends first it cancels them and returns ctx's error; their messages stay
// in the outbox and are sent again once their lease ends.
func (q *Queue) Close(ctx context.Context) error {
	q.stop()
	select {
	case <-q.done:
		q.cancelSend()
		return nil
	case <-ctx.Done():
		q.cancelSend()
		<-q.done
		return ctx.Err()
	}
}

// loop claims and sends due messages until ctx ends: at once when woken,
// else every Poll; after a full batch, straight away again.
func (q *Queue) loop(ctx context.Context) {
	defer close(q.done)
	poll := time.NewTicker(q.cfg.Poll)
	defer poll.Stop()
	var lastExpire time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-q.wake:
		case <-poll.C:
		}
		if now := q.cfg.Now(); now.Sub(lastExpire) >= expireEvery || now.Before(lastExpire) {
			lastExpire = now
			q.expireStale(ctx, now)
		}
		for full := true; full && ctx.Err() == nil; {
			full = q.round(ctx) == q.cfg.Workers
		}
	}
}

// expireEvery is how often the loop gives up messages that expired while
// waiting for a retry, or while no instance was running.
const expireEvery = 10 * time.Second

// expireStale gives up messages that passed their expiry while waiting.
func (q *Queue) expireStale(ctx context.Context, now time.Time) {
	ctx, cancel := context.WithTimeout(ctx, storeTimeout)
	defer cancel()
	n, err := q.cfg.Store.ExpireMail(ctx, now)
	if err != nil {
		q.cfg.Log.Debug("mail outbox: expiring stale messages failed", "err", err)
		return
	}
	if n > 0 {
		q.expired.Add(uint64(n))
		q.cfg.Log.Error("mail not sent: giving up on messages that expired in the outbox", "messages", n)
	}
}

// round claims up to Workers due messages, sends them concurrently and
// returns how many it claimed.
func (q *Queue) round(ctx context.Context) int {
	now := q.cfg.Now()
	claimCtx, cancel := context.WithTimeout(ctx, storeTimeout)
	batch, err := q.cfg.Store.ClaimMail(claimCtx, now, now.Add(q.cfg.Lease), q.cfg.Workers)
	cancel()
	if err != nil {
		if ctx.Err() == nil {
			q.claims.Failed(err)
		}
		return 0
	}
	q.claims.Succeeded()
	return retry.Each(batch, q.deliver)
}

// deliver opens, renders and sends one claimed message, then records what
// happened. A panic anywhere in it is logged with its stack and the message
// retried: one bad message never ends the process.
func (q *Queue) deliver(m sesame.QueuedMail) {
	defer func() {
		if r := recover(); r != nil {
			q.cfg.Log.Error("mail worker panicked", "id", m.ID, "to", m.Recipient, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			q.retry(m, errors.New("panic"))
		}
	}()
	msg, err := q.render(m)
	if err != nil {
		q.failed.Add(1)
		q.cfg.Log.Error("mail not sent: cannot render it", "id", m.ID, "to", m.Recipient, "err", err)
		q.finish(m, sesame.MailFailed)
		return
	}
	ctx, cancel := context.WithTimeout(q.sendCtx, 2*SMTPTimeout)
	err = q.cfg.Sender.Send(ctx, msg)
	cancel()
	if err != nil {
		q.cfg.Log.Warn("mail send failed", "id", m.ID, "to", m.Recipient, "subject", msg.Subject, "attempt", m.Attempts, "err", err)
		q.relayFailed()
		q.retry(m, err)
		return
	}
	q.relayOK()
	q.sent.Add(1)
	q.finish(m, sesame.MailSent)
}

func (q *Queue) render(m sesame.QueuedMail) (Message, error) {
	plain, err := q.seal.open(m.ID, m.Payload)
	if err != nil {
		return Message{}, err
	}
	d, err := decodeDraft(plain)
	if err != nil {
		return Message{}, err
	}
	msg, err := d.Render()
	if err != nil {
		return Message{}, err
	}
	msg.ID = m.ID + "@" + q.cfg.Domain
	return msg, nil
}

// retry schedules m's next try after an exponential backoff, or gives it
// up when that would come after its expiry.
func (q *Queue) retry(m sesame.QueuedMail, cause error) {
	now := q.cfg.Now()
	next := now.Add(q.backoff(m.Attempts))
	if !next.Before(m.ExpiresAt) {
		q.expired.Add(1)
		q.cfg.Log.Error("mail not sent: giving up, the message has expired", "id", m.ID, "to", m.Recipient, "attempts", m.Attempts, "err", cause)
		q.finish(m, sesame.MailExpired)
		return
	}
	q.retried.Add(1)
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	if err := q.cfg.Store.RetryMail(ctx, m.ID, next); err != nil {
		// The lease runs out and the message is tried again anyway.
		q.cfg.Log.Warn("mail outbox: cannot schedule a retry", "id", m.ID, "err", err)
	}
}

// backoff is the wait after the attempt-th failed try (retry.Backoff).
func (q *Queue) backoff(attempt int) time.Duration {
	return retry.Backoff(q.cfg.FirstBackoff, q.cfg.MaxBackoff, attempt)
}

func (q *Queue) finish(m sesame.QueuedMail, status string) {
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	if err := q.cfg.Store.FinishMail(ctx, m.ID, status, q.cfg.Now()); err != nil {
		// For a sent message: it is sent again when its lease ends, with
		// the same Message-ID (at-least-once).
		q.cfg.Log.Warn("mail outbox: cannot record the outcome", "id", m.ID, "status", status, "err", err)
	}
}

// relayFailed notes a failed send and warns, at most once per
// RelayWarnAfter, while sends have been failing for longer than that.
func (q *Queue) relayFailed() {
	now := q.cfg.Now()
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.failingSince.IsZero() {
		q.failingSince = now
		return
	}
	if now.Sub(q.failingSince) > RelayWarnAfter && now.Sub(q.warnedAt) > RelayWarnAfter {
		q.warnedAt = now
		q.cfg.Log.Warn("mail relay failing: no message sent since the first failure; mail waits in the outbox",
			"failing_since", q.failingSince.UTC().Format(time.RFC3339), "failing_for", now.Sub(q.failingSince).Round(time.Second).String())
	}
}

func (q *Queue) relayOK() {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.failingSince.IsZero() && !q.warnedAt.IsZero() {
		q.cfg.Log.Info("mail relay accepts messages again", "failed_for", q.cfg.Now().Sub(q.failingSince).Round(time.Second).String())
	}
	q.failingSince, q.warnedAt = time.Time{}, time.Time{}
}
