package db

import (
	"context"
	"io"
	"os"
	"sync"
	"testing"
	"time"
)

// Under a steady stream of commits the WAL still starts over: the
// checkpointer copies it off the writer, and the writer finishes a
// checkpoint between two batches once the WAL is long (without that, a
// second of these writes grew the WAL to 2.4 times the rows written, and
// it never started over).
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
	// A WAL that starts over gets new salts in its header (bytes 16–23).
	var salts [][8]byte
	wg.Go(func() {
		for time.Now().Before(stop) {
			if head, err := readHead(path+"-wal", 24); err == nil && len(head) == 24 {
				var salt [8]byte
				copy(salt[:], head[16:24])
				if len(salts) == 0 || salts[len(salts)-1] != salt {
					salts = append(salts, salt)
				}
			}
			time.Sleep(time.Millisecond)
		}
	})
	wg.Wait()
	if restarts := len(salts) - 1; restarts < 2 {
		t.Errorf("the WAL started over %d times in a second of steady writes; want it to, again and again", restarts)
	} else {
		t.Logf("the WAL started over %d times", restarts)
	}
}

func readHead(path string, n int) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b := make([]byte, n)
	m, err := io.ReadFull(f, b)
	return b[:m], err
}
