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
// a page is written once per batch; an idle server still runs each
// transaction at once, alone.
//
// Each caller keeps its all-or-nothing: its function runs inside a
// SAVEPOINT that is rolled back if it answers an error, leaving the
// others' writes as they were; a failed COMMIT fails every caller of the
// batch, none of whose writes then exist.
type groupCommit struct {
	db      *sql.DB
	reqs    chan *commitReq
	quit    chan struct{}
	done    chan struct{}
	closing sync.Once
	// queued, transactions and commits are for tests and metrics.
	queued, transactions, commits atomic.Int64
	// checkpointDue asks the writer to finish a checkpoint before its
	// next batch (see checkpointer).
	checkpointDue atomic.Bool
}

// maxBatch bounds the callers of one transaction, so that a burst cannot
// hold the writer (and the readers' view of the newest data) for long.
const maxBatch = 64

type commitReq struct {
	ctx context.Context
	fn  func(*txn) error
	err chan error
	// panicked is what fn panicked with, and where: the caller panics
	// again with it in its own goroutine, where the server's recovery
	// turns it into a 500, instead of the writer ending the process.
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
	g := &groupCommit{db: db, reqs: make(chan *commitReq), quit: make(chan struct{}), done: make(chan struct{})}
	go g.run()
	return g
}

// tx runs fn in the next batch and answers its outcome once the batch
// has committed or rolled back. A caller whose context ends before its
// batch starts is not run.
func (g *groupCommit) tx(ctx context.Context, fn func(*txn) error) error {
	r := &commitReq{ctx: ctx, fn: fn, err: make(chan error, 1)}
	g.queued.Add(1)
	select {
	case g.reqs <- r:
	case <-ctx.Done():
		g.queued.Add(-1)
		return ctx.Err()
	case <-g.quit:
		g.queued.Add(-1)
		return errClosed
	}
	err := <-r.err
	if r.panicked != nil {
		panic(fmt.Sprintf("%v\n\nin the writer:\n%s", r.panicked.value, r.panicked.stack))
	}
	return err
}

func (g *groupCommit) close() {
	g.closing.Do(func() { close(g.quit) })
	<-g.done
}

func (g *groupCommit) run() {
	defer close(g.done)
	batch := make([]*commitReq, 0, maxBatch)
	for {
		batch = batch[:0]
		select {
		case r := <-g.reqs:
			g.queued.Add(-1)
			batch = append(batch, r)
		case <-g.quit:
			return
		}
	more:
		for len(batch) < maxBatch {
			select {
			case r := <-g.reqs:
				g.queued.Add(-1)
				batch = append(batch, r)
			default:
				break more
			}
		}
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
	return int(db.commits.queued.Load())
}
