package db_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/db"
	"github.com/sesame-auth/sesame/db/dbtest"
)

// Transactions that queue while the writer is busy commit together, and
// each keeps its all-or-nothing: a caller that fails, on its own error or
// on a constraint, leaves none of its writes, and its neighbours' stand.
func TestSignInTxGroupCommit(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		u := newUser(t, d, "batch@example.com")
		errRefused := errors.New("refused after writing")

		// The first transaction holds the writer until the others queued.
		hold, held := make(chan struct{}), make(chan struct{})
		first := make(chan error, 1)
		go func() {
			first <- d.SignInTx(ctx, func(tx *db.Tx) error {
				close(held)
				<-hold
				return tx.CreateSession(ctx, liveSession(u.ID, "first"), sesame.RandomBytes(32))
			})
		}()
		<-held
		const n = 24
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				id := fmt.Sprintf("s%02d", i)
				if i%4 == 3 {
					id = "s00" // a second session with s00's id: a constraint error
				}
				errs[i] = d.SignInTx(ctx, func(tx *db.Tx) error {
					if err := tx.CreateSession(ctx, liveSession(u.ID, id), sesame.RandomBytes(32)); err != nil {
						return err
					}
					if err := tx.InsertAuditEvent(ctx, sesame.AuditEvent{ID: sesame.NewID(), At: t0, Event: "sign_in", Result: "success", UserID: u.ID, Detail: id}); err != nil {
						return err
					}
					if i%4 == 1 {
						return errRefused
					}
					return nil
				})
			})
		}
		if d.Dialect() == db.SQLite {
			waitQueued(t, d, n)
		}
		close(hold)
		wg.Wait()
		if err := <-first; err != nil {
			t.Fatalf("first transaction: %v", err)
		}
		// Callers 0, 3, 7, … all insert session s00: one commits, the
		// others conflict.
		s00 := 0
		for i, err := range errs {
			id := fmt.Sprintf("s%02d", i)
			_, got := d.SessionByID(ctx, id)
			switch {
			case i%4 == 1:
				if !errors.Is(err, errRefused) || !errors.Is(got, sesame.ErrNotFound) {
					t.Errorf("caller %d: error %v, session lookup %v; want its own error and no session", i, err, got)
				}
			case i == 0 || i%4 == 3:
				if err == nil {
					s00++
				} else if sesame.ErrorCode(err) != sesame.EConflict {
					t.Errorf("caller %d (session s00): error %v; want nil or conflict", i, err)
				}
			default:
				if err != nil || got != nil {
					t.Errorf("caller %d: error %v, session lookup %v; want committed", i, err, got)
				}
			}
		}
		if s00 != 1 {
			t.Errorf("%d callers committed session s00; want 1", s00)
		}
		events, err := d.AuditEvents(ctx, u.ID, 100)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range events {
			var i int
			if _, err := fmt.Sscanf(e.Detail, "s%02d", &i); err == nil && i%4 == 1 {
				t.Errorf("audit row %q of a refused transaction committed", e.Detail)
			}
		}
		if d.Dialect() == db.SQLite {
			txs, commits := d.CommitStats()
			if txs < n+1 || commits > 3 {
				t.Errorf("%d transactions in %d commits; want the %d queued callers to share a commit", txs, commits, n)
			}
		}
	})
}

// waitQueued waits until n callers wait for the writer.
func waitQueued(t *testing.T, d *db.DB, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for d.QueuedTransactions() < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d callers queued after 10 s; want %d", d.QueuedTransactions(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// A transaction that panics is rolled back alone and panics in its
// caller's goroutine, where the server recovers it; the writer goes on.
func TestSignInTxPanicStaysWithItsCaller(t *testing.T) {
	d := dbtest.SQLite(t)
	ctx := context.Background()
	u := newUser(t, d, "panic@example.com")
	s := liveSession(u.ID, "p1")
	func() {
		defer func() {
			if v := recover(); v == nil {
				t.Error("SignInTx returned; want the transaction's panic in the caller")
			}
		}()
		_ = d.SignInTx(ctx, func(tx *db.Tx) error {
			if err := tx.CreateSession(ctx, s, sesame.RandomBytes(32)); err != nil {
				return err
			}
			panic("boom")
		})
	}()
	if _, err := d.SessionByID(ctx, "p1"); !errors.Is(err, sesame.ErrNotFound) {
		t.Errorf("session of the panicked transaction: %v; want none", err)
	}
	s.ID = "p2"
	if err := d.SignInTx(ctx, func(tx *db.Tx) error { return tx.CreateSession(ctx, s, sesame.RandomBytes(32)) }); err != nil {
		t.Fatalf("the next transaction: %v", err)
	}
}

// Close waits for the transactions queued behind a running one, which
// all commit; a transaction after Close is refused.
func TestCloseFinishesQueuedTransactions(t *testing.T) {
	d := dbtest.SQLite(t)
	ctx := context.Background()
	u := newUser(t, d, "close@example.com")
	hold, held := make(chan struct{}), make(chan struct{})
	errs := make(chan error, 6)
	go func() {
		errs <- d.SignInTx(ctx, func(tx *db.Tx) error {
			close(held)
			<-hold
			return tx.CreateSession(ctx, liveSession(u.ID, "c0"), sesame.RandomBytes(32))
		})
	}()
	<-held
	for i := 1; i <= 5; i++ {
		go func() {
			errs <- d.SignInTx(ctx, func(tx *db.Tx) error {
				return tx.CreateSession(ctx, liveSession(u.ID, fmt.Sprintf("c%d", i)), sesame.RandomBytes(32))
			})
		}()
	}
	waitQueued(t, d, 5)
	closed := make(chan error, 1)
	go func() { closed <- d.Close() }()
	close(hold)
	for range 6 {
		if err := <-errs; err != nil {
			t.Errorf("a transaction queued before Close: %v; want committed", err)
		}
	}
	if err := <-closed; err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := d.SignInTx(ctx, func(tx *db.Tx) error { return nil }); err == nil {
		t.Error("SignInTx after Close succeeded; want it refused")
	}
}

// liveSession is a session of userID made at t0, live for an hour.
func liveSession(userID, id string) sesame.Session {
	return sesame.Session{ID: id, UserID: userID, CreatedAt: t0, LastUsedAt: t0, ExpiresAt: t0.Add(time.Hour), AuthTime: t0, AMR: []string{"hwk"}}
}
