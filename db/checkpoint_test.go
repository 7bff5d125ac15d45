package db

import (
	"context"
	"os"
	"sync"
	"testing"
	"time"
)

// Under a steady stream of commits the WAL still starts over: the
// checkpointer copies it off the writer, and the writer finishes a
// checkpoint between two batches once the WAL is long, so the file stays
// near walRestartFrames instead of growing with every commit.
func TestWALStartsOverUnderSteadyWrites(t *testing.T) {
	every, frames := checkpointEvery, walRestartFrames
	checkpointEvery, walRestartFrames = 25*time.Millisecond, 64
	t.Cleanup(func() { checkpointEvery, walRestartFrames = every, frames })

	path := t.TempDir() + "/wal.db"
	d, err := Open(context.Background(), "sqlite:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ctx := context.Background()
	var autocheckpoint, sizeLimit int
	if err := d.write.QueryRowContext(ctx, "PRAGMA wal_autocheckpoint").Scan(&autocheckpoint); err != nil || autocheckpoint != 0 {
		t.Fatalf("writer's wal_autocheckpoint = %d, %v; want 0: checkpoints run off the writer", autocheckpoint, err)
	}
	if err := d.write.QueryRowContext(ctx, "PRAGMA journal_size_limit").Scan(&sizeLimit); err != nil || sizeLimit != walSizeLimit {
		t.Fatalf("writer's journal_size_limit = %d, %v; want %d", sizeLimit, err, walSizeLimit)
	}
	if _, err := d.exec(ctx, "CREATE TABLE filler (id INTEGER PRIMARY KEY, v BLOB)"); err != nil {
		t.Fatal(err)
	}
	// Writers with no pause between their transactions, for a second:
	// about a hundred times walRestartFrames of WAL frames in all.
	var wg sync.WaitGroup
	var largest int64
	stop := time.Now().Add(time.Second)
	for range 8 {
		wg.Go(func() {
			for time.Now().Before(stop) {
				err := d.tx(ctx, func(tx *txn) error {
					_, err := tx.exec(ctx, "INSERT INTO filler (v) VALUES (randomblob(3000))")
					return err
				})
				if err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Go(func() {
		for time.Now().Before(stop) {
			if fi, err := os.Stat(path + "-wal"); err == nil && fi.Size() > largest {
				largest = fi.Size()
			}
			time.Sleep(time.Millisecond)
		}
	})
	wg.Wait()
	var rows int
	if err := d.read.QueryRowContext(ctx, "SELECT count(*) FROM filler").Scan(&rows); err != nil {
		t.Fatal(err)
	}
	// Each row is a frame of its own at least; a WAL that never starts
	// over is twice as long as all of them (each commit adds the table's
	// inner pages too), one that does a fraction of it.
	if written := int64(rows) * 4096; largest > written {
		t.Errorf("the WAL grew to %d KiB while %d KiB of rows were written; want it to start over", largest>>10, written>>10)
	} else {
		t.Logf("%d rows (%d KiB); the WAL file reached %d KiB", rows, written>>10, largest>>10)
	}
}
