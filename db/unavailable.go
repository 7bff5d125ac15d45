package db

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/mattn/go-sqlite3"

	"github.com/sesame-auth/sesame"
)

// UnavailableRetry is the Retry-After of an answer given while the
// database cannot be reached or written: a PostgreSQL restart takes
// seconds.
const UnavailableRetry = 5 * time.Second

// errUnavailable is what callers see of a database that is down, out of
// reach, out of disk or too slow: a 503 with Retry-After, never a 500.
var errUnavailable = &sesame.Error{Code: sesame.EUnavailable,
	Message: "The service is briefly unavailable; try again shortly.", RetryAfter: UnavailableRetry}

// isUnavailable reports whether err means the database cannot serve now,
// rather than that a statement is wrong: a connection refused, reset or
// timed out, a server shutting down or starting, a full disk.
func isUnavailable(err error) bool {
	var se sqlite3.Error
	if errors.As(err, &se) {
		switch se.Code {
		case sqlite3.ErrFull, sqlite3.ErrIoErr, sqlite3.ErrCantOpen, sqlite3.ErrNomem, sqlite3.ErrReadonly:
			return true
		}
		return false
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case strings.HasPrefix(pe.Code, "08"), // connection exception
			pe.Code == "57P01", pe.Code == "57P02", pe.Code == "57P03", // shutting down, crashed, starting
			pe.Code == "53300", pe.Code == "53100", // too many connections, disk full
			pe.Code == "57014": // statement canceled by a timeout
			return true
		}
		return false
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	return errors.As(err, &ce) || errors.As(err, &ne) || pgconn.Timeout(err) ||
		errors.Is(err, context.DeadlineExceeded) || errors.Is(err, driver.ErrBadConn) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		strings.Contains(err.Error(), "conn closed")
}

// LimitPages caps the SQLite file at n pages on the writing connection
// (PRAGMA max_page_count), as a full disk or a quota would, and returns
// the page count the file has now; n of 0 only reads it. Writes that need
// more space fail with 503 until the cap is raised. It is for fault tests
// and for operators who want a size cap; on PostgreSQL it fails.
func (db *DB) LimitPages(ctx context.Context, n int64) (pages int64, err error) {
	if db.dialect != SQLite {
		return 0, errors.New("LimitPages: SQLite only")
	}
	if n > 0 {
		var got int64
		if err := db.write.QueryRowContext(ctx, "PRAGMA max_page_count = "+strconv.FormatInt(n, 10)).Scan(&got); err != nil {
			return 0, fmt.Errorf("max_page_count: %w", err)
		}
	}
	if err := db.write.QueryRowContext(ctx, "PRAGMA page_count").Scan(&pages); err != nil {
		return 0, fmt.Errorf("page_count: %w", err)
	}
	return pages, nil
}

// IntegrityCheck runs PRAGMA integrity_check (SQLite) and returns its
// answer, "ok" for a sound file.
func (db *DB) IntegrityCheck(ctx context.Context) (string, error) {
	if db.dialect != SQLite {
		return "ok", nil
	}
	var res string
	if err := db.write.QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&res); err != nil {
		return "", fmt.Errorf("integrity_check: %w", err)
	}
	return res, nil
}
