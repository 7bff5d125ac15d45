// Package db is Sesame's storage: SQLite (the embedded default) and
// PostgreSQL behind one type, with the same SQL for both where it can be.
// It implements the small store interfaces the feature packages declare and
// imports only the domain.
package db

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/mattn/go-sqlite3"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/sesame-auth/sesame"
)

//go:embed migrations
var migrations embed.FS

// Dialect names the SQL engine behind a DB.
type Dialect string

// The engines Sesame runs on.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// DB is the store. It is safe for concurrent use.
type DB struct {
	dialect Dialect
	// write takes every statement that changes data. On SQLite it holds a
	// single connection, so writers queue in Go rather than spinning in
	// SQLite's busy handler; on PostgreSQL write and read are one pool.
	write *sql.DB
	read  *sql.DB
	// rebind rewrites ? placeholders to $n for PostgreSQL.
	rebind func(string) string
	// commits batches SQLite's write transactions (nil on PostgreSQL,
	// whose connections commit in parallel).
	commits *groupCommit
	// checkpoints copies SQLite's WAL into the database file, off the
	// writer (nil on PostgreSQL).
	checkpoints *checkpointer
	// auditRetention is how long audit rows are kept; 0 means
	// DefaultAuditRetention. Set once, before the sweeper starts.
	auditRetention time.Duration
}

// Open opens the database named by url: "sqlite:<path>" or
// "postgres://...". It does not migrate; call Migrate.
func Open(ctx context.Context, url string) (*DB, error) {
	switch {
	case strings.HasPrefix(url, "sqlite:"):
		return openSQLite(ctx, strings.TrimPrefix(url, "sqlite:"))
	case strings.HasPrefix(url, "postgres://"), strings.HasPrefix(url, "postgresql://"):
		return openPostgres(ctx, url)
	default:
		return nil, fmt.Errorf("database %q: want sqlite:<path> or postgres://", redactURL(url))
	}
}

func openSQLite(ctx context.Context, path string) (*DB, error) {
	if path == "" {
		return nil, errors.New("sqlite: empty path")
	}
	if dir := filepath.Dir(path); dir != "." {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("sqlite: create directory: %w", err)
		}
	}
	// The file holds hashes and encrypted keys: readable by its owner only.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	f.Close()
	// _journal_mode=WAL: readers never block the writer and vice versa.
	// _synchronous=NORMAL: in WAL mode, durable across application crashes;
	//   a power loss may drop the last commits but never corrupts the file.
	// _busy_timeout=5000: wait for a lock held by another process (a second
	//   `sesame` command on the same file) rather than failing at once.
	// _foreign_keys=on: enforce REFERENCES, off by default in SQLite.
	// _txlock=immediate: take the write lock at BEGIN, so a transaction never
	//   fails half-way on a read-to-write lock upgrade.
	// _stmt_cache_size=64: keep each connection's prepared statements;
	//   preparing them again was a fifth of a sign-in's server CPU
	//   (docs/performance.md).
	// The path is a URI's: escaped, or a '#' or '?' in it (a directory
	// named after a subtest, "x#01") would end it there.
	dsn := "file:" + uriPath.Replace(path) + "?_journal_mode=WAL&_synchronous=NORMAL&_busy_timeout=5000&_foreign_keys=on&_txlock=immediate&_stmt_cache_size=64"
	write, err := sql.Open(sqliteWriter, dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	write.SetConnMaxLifetime(0)
	// _query_only=1: the read pool can never write by mistake.
	read, err := sql.Open("sqlite3", dsn+"&_query_only=1")
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	n := max(4, 2*runtime.GOMAXPROCS(0))
	read.SetMaxOpenConns(n)
	read.SetMaxIdleConns(n)
	cp, err := sql.Open("sqlite3", dsn)
	if err != nil {
		write.Close()
		read.Close()
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	commits := newGroupCommit(write)
	db := &DB{dialect: SQLite, write: write, read: read, rebind: func(q string) string { return q },
		commits: commits, checkpoints: newCheckpointer(cp, &commits.checkpointDue)}
	if err := db.Ping(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

func openPostgres(ctx context.Context, url string) (*DB, error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("postgres: %s: the URL does not parse", redactURL(url))
	}
	// A server that does not answer (down host, lost route) fails a
	// request in seconds, as a 503, rather than holding it until the
	// operating system gives up on the TCP connect.
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = ConnectTimeout
	}
	pool := stdlib.OpenDB(*cfg)
	pool.SetMaxOpenConns(4 * runtime.GOMAXPROCS(0))
	pool.SetMaxIdleConns(4 * runtime.GOMAXPROCS(0))
	pool.SetConnMaxIdleTime(5 * time.Minute)
	db := &DB{dialect: Postgres, write: pool, read: pool, rebind: newRebinder()}
	if err := db.Ping(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// uriPath escapes what ends or changes the path of a file: URI.
var uriPath = strings.NewReplacer("%", "%25", "#", "%23", "?", "%3f")

// ConnectTimeout bounds a new PostgreSQL connection unless the URL sets
// connect_timeout.
const ConnectTimeout = 3 * time.Second

// Dialect reports the engine.
func (db *DB) Dialect() Dialect { return db.dialect }

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.read.PingContext(ctx); err != nil {
		return fmt.Errorf("ping %s: %w", db.dialect, err)
	}
	return nil
}

// Close closes every connection.
func (db *DB) Close() error {
	var err error
	if db.commits != nil {
		db.commits.close()
		err = db.checkpoints.close()
	}
	err = errors.Join(err, db.write.Close())
	if db.read != db.write {
		err = errors.Join(err, db.read.Close())
	}
	return err
}

// Migrate applies every pending migration. On PostgreSQL a session-level
// advisory lock makes instances that start together migrate exactly once.
func (db *DB) Migrate(ctx context.Context, log *slog.Logger) error {
	dir, dialect := "migrations/sqlite", goose.DialectSQLite3
	// Features land in parallel, each with its own block of version numbers;
	// a database migrated by an earlier build still takes a lower number
	// that lands later.
	opts := []goose.ProviderOption{goose.WithAllowOutofOrder(true)}
	if db.dialect == Postgres {
		dir, dialect = "migrations/postgres", goose.DialectPostgres
		locker, err := lock.NewPostgresSessionLocker()
		if err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	fsys, err := fs.Sub(migrations, dir)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	p, err := goose.NewProvider(dialect, db.write, fsys, opts...)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	results, err := p.Up(ctx)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	for _, r := range results {
		if log != nil {
			log.Info("migration applied", "dialect", db.dialect, "version", r.Source.Version, "duration", r.Duration)
		}
	}
	return nil
}

// exec runs a writing statement.
// On SQLite it joins the group commit, like a transaction of one
// statement: it waits for the writer no longer than ctx allows, and
// shares a commit with the transactions queued beside it.
func (db *DB) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if db.commits != nil {
		var res sql.Result
		err := db.commits.tx(ctx, func(t *txn) (err error) {
			res, err = t.exec(ctx, query, args...)
			return err
		})
		return res, db.wrap(err)
	}
	res, err := db.write.ExecContext(ctx, db.rebind(query), args...)
	return res, db.wrap(err)
}

// queryRow runs a reading query on the read pool.
func (db *DB) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	return db.read.QueryRowContext(db.stmtContext(ctx), db.rebind(query), args...)
}

// writeRow runs a writing statement with RETURNING on the write pool, in
// a commit of its own, between two group commits. Its context keeps its
// deadline: outside a shared transaction, an interrupted statement rolls
// back only itself.
func (db *DB) writeRow(ctx context.Context, query string, args ...any) *sql.Row {
	return db.write.QueryRowContext(ctx, db.rebind(query), args...)
}

// query runs a reading query on the read pool.
func (db *DB) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	rows, err := db.read.QueryContext(db.stmtContext(ctx), db.rebind(query), args...)
	return rows, db.wrap(err)
}

// stmtContext is the context a read runs under. On SQLite it drops the
// request's deadline once the request is still within it: a local
// statement takes microseconds, and a cancellable context costs two
// goroutines per statement (database/sql's and the driver's watchers), a
// tenth of a sign-in's CPU. A request past its deadline keeps it, so its
// next statement fails at once. The wait for one of the read pool's
// connections is then unbounded, but bounded in fact by the reads ahead
// of it, each microseconds long. On PostgreSQL, whose server can stop
// answering, the deadline stays.
func (db *DB) stmtContext(ctx context.Context) context.Context {
	if db.dialect == SQLite && ctx.Err() == nil {
		return context.WithoutCancel(ctx)
	}
	return ctx
}

// tx runs fn in a write transaction, committing if it returns nil.
func (db *DB) tx(ctx context.Context, fn func(*txn) error) error {
	if db.commits != nil {
		return db.wrap(db.commits.tx(ctx, fn))
	}
	t, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return db.wrap(fmt.Errorf("begin: %w", err))
	}
	if err := fn(&txn{tx: t, rebind: db.rebind}); err != nil {
		_ = t.Rollback()
		return db.wrap(err)
	}
	return db.wrap(t.Commit())
}

// txn is a transaction that rebinds its queries.
type txn struct {
	tx     *sql.Tx
	rebind func(string) string
	// detached runs statements without cancellation (see groupCommit).
	detached bool
}

func (t *txn) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return t.tx.ExecContext(t.stmtContext(ctx), t.rebind(query), args...)
}

func (t *txn) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	return t.tx.QueryRowContext(t.stmtContext(ctx), t.rebind(query), args...)
}

func (t *txn) stmtContext(ctx context.Context) context.Context {
	if t.detached {
		return context.WithoutCancel(ctx)
	}
	return ctx
}

// wrap turns "not found", "database busy" and "database unavailable" (down,
// unreachable, too slow, out of disk) into domain errors; everything else
// stays internal.
func (db *DB) wrap(err error) error {
	var se sqlite3.Error
	switch {
	case err == nil:
		return nil
	case errors.Is(err, sql.ErrNoRows):
		return sesame.ErrNotFound
	case errors.As(err, &se) && (se.Code == sqlite3.ErrBusy || se.Code == sqlite3.ErrLocked):
		return &sesame.Error{Code: sesame.EUnavailable, Message: "The service is busy; try again shortly.", RetryAfter: time.Second}
	case sesame.ErrorCode(err) == sesame.EUnavailable:
		return err // wrapped already
	case isUnavailable(err):
		// The cause stays in the chain for the log; the client sees 503.
		return fmt.Errorf("%w: %w", errUnavailable, err)
	case isUniqueViolation(err):
		return fmt.Errorf("%w: %w", sesame.Errorf(sesame.EConflict, "Already exists."), err)
	}
	return err
}

func isUniqueViolation(err error) bool {
	var se sqlite3.Error
	if errors.As(err, &se) {
		return se.ExtendedCode == sqlite3.ErrConstraintUnique || se.ExtendedCode == sqlite3.ErrConstraintPrimaryKey
	}
	// pgx: SQLSTATE 23505 unique_violation.
	var coded interface{ SQLState() string }
	return errors.As(err, &coded) && coded.SQLState() == "23505"
}

// newRebinder returns a function that rewrites ? placeholders to $1, $2…
// for PostgreSQL. Sesame's SQL never has ? inside string literals.
func newRebinder() func(string) string {
	return func(q string) string {
		if !strings.Contains(q, "?") {
			return q
		}
		var b strings.Builder
		b.Grow(len(q) + 8)
		n := 0
		for i := 0; i < len(q); i++ {
			if q[i] == '?' {
				n++
				b.WriteByte('$')
				b.WriteString(strconv.Itoa(n))
				continue
			}
			b.WriteByte(q[i])
		}
		return b.String()
	}
}

// redactURL hides a password in a database URL before it is printed.
func redactURL(u string) string {
	if i := strings.Index(u, "://"); i >= 0 {
		if at := strings.LastIndex(u, "@"); at > i {
			return u[:i+3] + "…@" + u[at+1:]
		}
	}
	return u
}

// ms converts a time to the stored form, Unix milliseconds.
func ms(t time.Time) int64 { return t.UnixMilli() }

// fromMS converts the stored form back to a time in UTC.
func fromMS(v int64) time.Time { return time.UnixMilli(v).UTC() }

// nullMS converts a nullable stored time.
func nullMS(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := fromMS(v.Int64)
	return &t
}
