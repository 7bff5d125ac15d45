package db

import (
	"context"
	"database/sql"
	"errors"
	"sync"
	"time"

	"github.com/mattn/go-sqlite3"
)

// sqliteWriter is the driver of the SQLite writer connection. It turns
// off the automatic checkpoint, which would otherwise run on the commit
// that grew the WAL past 1,000 pages, in the writer, copying pages into
// the database file and waiting on its fsync while every sign-in queued
// behind it waits too. A checkpointer on its own connection does that
// work instead (see checkpointer).
const sqliteWriter = "sqlite3-sesame-writer"

func init() {
	sql.Register(sqliteWriter, &sqlite3.SQLiteDriver{ConnectHook: func(c *sqlite3.SQLiteConn) error {
		_, err := c.Exec("PRAGMA wal_autocheckpoint = 0", nil)
		return err
	}})
}

// CheckpointInterval is how often the checkpointer copies the WAL into
// the database file. Between two checkpoints the WAL grows by what was
// written meanwhile (a few MB at the highest sign-in rates).
const CheckpointInterval = 250 * time.Millisecond

// checkpointer runs PASSIVE checkpoints on a connection of its own, off
// the writer's path: a PASSIVE checkpoint never waits for the writer or a
// reader, copying what it can, and the writer restarts the WAL from its
// start once a checkpoint has copied all of it.
type checkpointer struct {
	conn    *sql.DB
	quit    chan struct{}
	done    chan struct{}
	closing sync.Once
}

func newCheckpointer(conn *sql.DB) *checkpointer {
	conn.SetMaxOpenConns(1)
	conn.SetMaxIdleConns(1)
	conn.SetConnMaxLifetime(0)
	c := &checkpointer{conn: conn, quit: make(chan struct{}), done: make(chan struct{})}
	go c.run()
	return c
}

func (c *checkpointer) run() {
	defer close(c.done)
	tick := time.NewTicker(CheckpointInterval)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			// An error (the disk full, the file gone) is the writer's to
			// report; the next tick tries again.
			_, _ = c.conn.ExecContext(context.Background(), "PRAGMA wal_checkpoint(PASSIVE)")
		case <-c.quit:
			return
		}
	}
}

// close stops the checkpointer and copies what the WAL still holds.
func (c *checkpointer) close() (err error) {
	c.closing.Do(func() {
		close(c.quit)
		<-c.done
		_, err = c.conn.ExecContext(context.Background(), "PRAGMA wal_checkpoint(PASSIVE)")
		err = errors.Join(err, c.conn.Close())
	})
	return err
}
