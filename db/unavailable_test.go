package db

import (
	"context"
	"errors"
	"fmt"
	"net"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/mattn/go-sqlite3"

	"github.com/sesame-auth/sesame"
)

// TestWrapUnavailable: a database that is down, unreachable, too slow or
// out of disk becomes a 503 (EUnavailable with Retry-After); a wrong
// statement stays internal.
func TestWrapUnavailable(t *testing.T) {
	d := &DB{}
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"sqlite full", sqlite3.Error{Code: sqlite3.ErrFull}, sesame.EUnavailable},
		{"sqlite io", sqlite3.Error{Code: sqlite3.ErrIoErr}, sesame.EUnavailable},
		{"sqlite busy", sqlite3.Error{Code: sqlite3.ErrBusy}, sesame.EUnavailable},
		{"sqlite constraint", sqlite3.Error{Code: sqlite3.ErrConstraint}, sesame.EInternal},
		{"pg shutting down", &pgconn.PgError{Code: "57P01"}, sesame.EUnavailable},
		{"pg starting", &pgconn.PgError{Code: "57P03"}, sesame.EUnavailable},
		{"pg connection failure", &pgconn.PgError{Code: "08006"}, sesame.EUnavailable},
		{"pg syntax", &pgconn.PgError{Code: "42601"}, sesame.EInternal},
		{"pg unique", &pgconn.PgError{Code: "23505"}, sesame.EConflict},
		{"connection refused", fmt.Errorf("query: %w", refused), sesame.EUnavailable},
		{"deadline", fmt.Errorf("query: %w", context.DeadlineExceeded), sesame.EUnavailable},
		{"plain", errors.New("something else"), sesame.EInternal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := d.wrap(tt.err)
			if got := sesame.ErrorCode(err); got != tt.want {
				t.Errorf("wrap(%v) code %s; want %s", tt.err, got, tt.want)
			}
			var se *sesame.Error
			if tt.want == sesame.EUnavailable && (!errors.As(err, &se) || se.RetryAfter == 0) {
				t.Errorf("wrap(%v) has no Retry-After", tt.err)
			}
			if tt.want == sesame.EUnavailable && !errors.Is(err, tt.err) && tt.name != "sqlite busy" {
				t.Errorf("wrap(%v) lost its cause for the log", tt.err)
			}
		})
	}
}
