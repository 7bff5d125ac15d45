package db

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// ErrBackupUnsupported is what Backup answers on PostgreSQL, which has its
// own tool for consistent online copies: pg_dump.
var ErrBackupUnsupported = errors.New("backup: PostgreSQL is backed up with pg_dump")

// Backup writes a consistent copy of a SQLite database to path, online:
// VACUUM INTO reads one snapshot on a read connection, so writers go on
// meanwhile (WAL), and the copy is compact and complete on its own (no
// -wal file beside it). path must not exist yet; the copy is written next
// to it and renamed into place, so a failed backup leaves nothing behind.
func (db *DB) Backup(ctx context.Context, path string) error {
	if db.dialect != SQLite {
		return ErrBackupUnsupported
	}
	if _, err := os.Lstat(path); err == nil {
		return fmt.Errorf("backup: %s already exists", path)
	} else if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("backup: %w", err)
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	tmpName := tmp.Name()
	tmp.Close()
	// VACUUM INTO refuses a target that exists and is not empty; an empty
	// file is fine, and creating it ourselves gives it mode 0600.
	if err := os.Chmod(tmpName, 0o600); err != nil {
		os.Remove(tmpName)
		return fmt.Errorf("backup: %w", err)
	}
	defer os.Remove(tmpName) // after a successful rename there is nothing left to remove
	if err := db.vacuumInto(ctx, tmpName); err != nil {
		return fmt.Errorf("backup: %w", db.wrap(err))
	}
	if err := syncFile(tmpName); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	if err := os.Rename(tmpName, path); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	return nil
}

// vacuumInto runs VACUUM INTO on a connection of the read pool, so the
// single writer is not held for the length of the copy. Read connections
// are query_only, which VACUUM INTO's writing of the new file trips; the
// connection is switched for the copy and then discarded, so the pool never
// gets a writable connection back.
func (db *DB) vacuumInto(ctx context.Context, path string) error {
	conn, err := db.read.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	defer conn.Raw(func(any) error { return driver.ErrBadConn }) //nolint:errcheck // discards the connection
	if _, err := conn.ExecContext(ctx, `PRAGMA query_only = 0`); err != nil {
		return err
	}
	_, err = conn.ExecContext(ctx, `VACUUM INTO ?`, path)
	return err
}

func syncFile(name string) error {
	f, err := os.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}
