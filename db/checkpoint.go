package db

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mattn/go-sqlite3"
)

// sqliteWriter is the driver of the SQLite writer connection. It turns
// off the automatic checkpoint, which would otherwise run on the commit
// that grew the WAL past 1,000 pages, in the writer, copying pages into
// the database file and waiting on its fsync while every sign-in queued
// behind it waits too. A checkpointer on its own connection does that
// work instead (see checkpointer). journal_size_limit truncates a WAL
// file that a burst grew, once it starts over.
const sqliteWriter = "sqlite3-sesame-writer"

// walSizeLimit is the WAL file's size kept after it starts over.
const walSizeLimit = 64 << 20

func init() {
	sql.Register(sqliteWriter, &sqlite3.SQLiteDriver{ConnectHook: func(c *sqlite3.SQLiteConn) error {
		_, err := c.Exec("PRAGMA wal_autocheckpoint = 0; PRAGMA journal_size_limit = "+strconv.Itoa(walSizeLimit), nil)
		return err
	}})
}

// checkpointEvery is how often the checkpointer copies the WAL into the
// database file; walRestartFrames is the WAL length (in 4 KiB frames)
// beyond which the writer is asked to finish a checkpoint itself so that
// the WAL starts over (see checkpointer). Variables for the tests.
var (
	checkpointEvery  = 250 * time.Millisecond
	walRestartFrames = 4096
)

// checkpointer runs PASSIVE checkpoints on a connection of its own, off
// the writer's path: a PASSIVE checkpoint never waits for the writer or a
// reader, copying the frames committed when it began.
//
// The WAL starts over from its beginning only when a write transaction
// begins while every frame has been copied, and under a steady stream of
// commits that never happens by itself: each batch commits new frames
// while the checkpoint copies the older ones. So once the WAL is longer
// than walRestartFrames, the checkpointer asks the writer (restart) to
// run a checkpoint on its own connection between two batches: with no
// writer beside it that checkpoint copies the rest — little, since most
// was copied here — and the next batch starts the WAL over.
type checkpointer struct {
	conn *sql.DB
	// writerDue is set while the writer is asked to finish a checkpoint;
	// the checkpointer then leaves it alone, whose own would make the
	// writer's answer busy.
	writerDue *atomic.Bool
	quit      chan struct{}
	done      chan struct{}
	closing   sync.Once
}

func newCheckpointer(conn *sql.DB, writerDue *atomic.Bool) *checkpointer {
	conn.SetMaxOpenConns(1)
	conn.SetMaxIdleConns(1)
	conn.SetConnMaxLifetime(0)
	c := &checkpointer{conn: conn, writerDue: writerDue, quit: make(chan struct{}), done: make(chan struct{})}
	go c.run()
	return c
}

func (c *checkpointer) run() {
	defer close(c.done)
	tick := time.NewTicker(checkpointEvery)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			if c.writerDue.Load() {
				continue
			}
			// An error (the disk full, the file gone) is the writer's to
			// report; the next tick tries again.
			if _, frames, err := checkpoint(c.conn); err == nil && frames > walRestartFrames {
				c.writerDue.Store(true)
			}
		case <-c.quit:
			return
		}
	}
}

// checkpoint runs a PASSIVE checkpoint and answers whether it copied the
// whole WAL, and the WAL's length in frames.
func checkpoint(conn *sql.DB) (all bool, frames int, err error) {
	var busy, copied int
	err = conn.QueryRowContext(context.Background(), "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &frames, &copied)
	return err == nil && busy == 0 && copied == frames, frames, err
}

// close stops the checkpointer and copies what the WAL still holds.
func (c *checkpointer) close() (err error) {
	c.closing.Do(func() {
		close(c.quit)
		<-c.done
		_, _, err = checkpoint(c.conn)
		err = errors.Join(err, c.conn.Close())
	})
	return err
}
