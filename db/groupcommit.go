package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"sync/atomic"
)

// groupCommit runs the write transactions of many callers, on SQLite, as
// savepoints of one transaction with one COMMIT (group commit). SQLite has
// one writer: a transaction per caller makes each pay its own BEGIN and
// COMMIT and write its B-tree pages to the WAL again, though its rows sit
// on the same pages as its neighbours' (ids are time-ordered). Here the
// callers that queued while the previous batch ran share the next one, so
// a page is written once per batch.
//
// There is no writer goroutine: a caller that finds no batch running
// leads, running its own transaction at once in its own goroutine (an
// idle server pays no hand-off), and when it is done hands the lead to
// the first caller that queued meanwhile, which runs everything queued
// as the next batch (LevelDB's writer queue works the same way).
//
// Each caller keeps its all-or-nothing: its function runs inside a
// SAVEPOINT that is rolled back if it answers an error, leaving the
// others' writes as they were; a failed COMMIT fails every caller of the
// batch, none of whose writes then exist.
type groupCommit struct {
	db *sql.DB

	mu sync.Mutex
	// queue holds the callers waiting for the next batch; leading says a
	// caller runs a batch now (and will hand the lead on).
	queue   []*commitReq
	leading bool
	closed  bool
	idle    sync.Cond // signalled when leading ends, for close

	// transactions and commits are for tests and metrics.
	transactions, commits atomic.Int64
	// checkpointDue asks the leader to finish a checkpoint before its
	// batch (see checkpointer).
	checkpointDue atomic.Bool
}

// maxBatch bounds the callers of one transaction, so that a burst cannot
// hold the writer (and the readers' view of the newest data) for long.
const maxBatch = 64

type commitReq struct {
	ctx context.Context
	fn  func(*txn) error
	err chan error
	// lead hands this caller the lead of the next batch.
	lead chan struct{}
	// panicked is what fn panicked with, and where: the caller panics
	// again with it in its own goroutine, where the server's recovery
	// turns it into a 500, instead of a panic in another caller's.
	panicked *fnPanic
}

type fnPanic struct {
	value any
	stack []byte
}

// run calls fn, turning a panic into an error for the batch and a panic
// for its caller.
func (r *commitReq) run(tx *txn) (err error) {
	defer func() {
		if v := recover(); v != nil {
			r.panicked = &fnPanic{value: v, stack: debug.Stack()}
			err = fmt.Errorf("transaction panicked: %v", v)
		}
	}()
	return r.fn(tx)
}

var errClosed = errors.New("database closed")

func newGroupCommit(db *sql.DB) *groupCommit {
	g := &groupCommit{db: db}
	g.idle.L = &g.mu
	return g
}

// tx runs fn in the next batch and answers its outcome once the batch
// has committed or rolled back. A caller whose context has ended when
// its batch starts is not run.
func (g *groupCommit) tx(ctx context.Context, fn func(*txn) error) error {
	r := &commitReq{ctx: ctx, fn: fn, err: make(chan error, 1), lead: make(chan struct{}, 1)}
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return errClosed
	}
	g.queue = append(g.queue, r)
	if !g.leading {
		g.leading = true
		g.lead() // unlocks
	} else {
		g.mu.Unlock()
	}
	select {
	case <-r.lead:
		g.mu.Lock()
		g.lead()
	case err := <-r.err:
		return r.answer(err)
	}
	return r.answer(<-r.err)
}

func (r *commitReq) answer(err error) error {
	if r.panicked != nil {
		panic(fmt.Sprintf("%v\n\nin the transaction:\n%s", r.panicked.value, r.panicked.stack))
	}
	return err
}

// lead runs everything queued (up to maxBatch) as one batch, then hands
// the lead to the first caller queued meanwhile, or ends it. It is called
// with g.mu held, by the leader, and unlocks it.
func (g *groupCommit) lead() {
	n := min(len(g.queue), maxBatch)
	batch := make([]*commitReq, n)
	copy(batch, g.queue)
	g.queue = append(g.queue[:0], g.queue[n:]...)
	g.mu.Unlock()
	defer g.handOn()
	if g.checkpointDue.Swap(false) {
		// The writer connection is free between batches, and no
		// other writer runs: this checkpoint copies every frame,
		// unless the checkpointer's own is running (it then answers
		// busy) or a reader still reads an old snapshot. Then the
		// next batch tries again.
		if all, _, _ := checkpoint(g.db); !all {
			g.checkpointDue.Store(true)
		}
	}
	g.commit(batch)
}

// handOn gives the lead to the first caller waiting, or ends it.
func (g *groupCommit) handOn() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.queue) == 0 {
		g.leading = false
		g.idle.Broadcast()
		return
	}
	g.queue[0].lead <- struct{}{}
}

// close refuses new transactions and waits for the queued ones.
func (g *groupCommit) close() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.closed = true
	for g.leading {
		g.idle.Wait()
	}
}

// commit runs one batch. Statements run under contexts without
// cancellation: cancelling a statement interrupts the connection, and an
// interrupted write inside a transaction rolls back the whole of it —
// everyone's.
func (g *groupCommit) commit(batch []*commitReq) {
	live := batch[:0]
	for _, r := range batch {
		if err := r.ctx.Err(); err != nil {
			r.err <- err
			continue
		}
		live = append(live, r)
	}
	if len(live) == 0 {
		return
	}
	g.transactions.Add(int64(len(live)))
	g.commits.Add(1)
	t, err := g.db.BeginTx(context.Background(), nil)
	if err != nil {
		failAll(live, fmt.Errorf("begin: %w", err))
		return
	}
	tx := &txn{tx: t, rebind: func(q string) string { return q }, detached: true}
	if len(live) == 1 {
		r := live[0]
		if err := r.run(tx); err != nil {
			_ = t.Rollback()
			r.err <- err
			return
		}
		r.err <- t.Commit()
		return
	}
	errs := make([]error, len(live))
	for i, r := range live {
		if _, err := t.Exec("SAVEPOINT caller"); err != nil {
			_ = t.Rollback()
			failAll(live, fmt.Errorf("savepoint: %w", err))
			return
		}
		if errs[i] = r.run(tx); errs[i] != nil {
			// A write that failed on I/O or a full disk may have ended
			// the transaction itself; then nothing of the batch stands.
			if _, err := t.Exec("ROLLBACK TO caller"); err != nil {
				_ = t.Rollback()
				failAll(live, fmt.Errorf("rollback to savepoint: %w (after %w)", err, errs[i]))
				return
			}
		}
		if _, err := t.Exec("RELEASE caller"); err != nil {
			_ = t.Rollback()
			failAll(live, fmt.Errorf("release savepoint: %w", err))
			return
		}
	}
	if err := t.Commit(); err != nil {
		failAll(live, err)
		return
	}
	for i, r := range live {
		r.err <- errs[i]
	}
}

func failAll(batch []*commitReq, err error) {
	for _, r := range batch {
		r.err <- err
	}
}

// CommitStats reports, on SQLite, how many write transactions ran and in
// how many commits; on PostgreSQL, zeros.
func (db *DB) CommitStats() (transactions, commits int64) {
	if db.commits == nil {
		return 0, 0
	}
	return db.commits.transactions.Load(), db.commits.commits.Load()
}

// QueuedTransactions is how many write transactions wait for the SQLite
// writer.
func (db *DB) QueuedTransactions() int {
	if db.commits == nil {
		return 0
	}
	db.commits.mu.Lock()
	defer db.commits.mu.Unlock()
	return len(db.commits.queue)
}
