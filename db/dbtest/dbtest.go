// Package dbtest gives tests a real, freshly migrated database: a SQLite
// file in the test's temporary directory always, and a PostgreSQL schema of
// its own when SESAME_TEST_POSTGRES_URL is set.
package dbtest

import (
	"context"
	"database/sql"
	"github.com/sesame-auth/sesame/internal/testkit"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/db"
)

// PostgresEnv names the variable holding the test server's URL.
const PostgresEnv = "SESAME_TEST_POSTGRES_URL"

// SQLite returns a migrated database in a new SQLite file, closed when the
// test ends.
func SQLite(t testing.TB) *db.DB {
	t.Helper()
	return open(t, "sqlite:"+filepath.Join(t.TempDir(), "sesame.db"))
}

// Postgres returns a migrated database in a new schema of the test server,
// dropped when the test ends; it skips the test when no server is set.
func Postgres(t testing.TB) *db.DB {
	t.Helper()
	base := os.Getenv(PostgresEnv)
	if base == "" {
		testkit.Missing(t, "%s not set", PostgresEnv)
	}
	return open(t, CreateSchema(t, base))
}

// PostgresURL returns the test server's URL; without one the test skips,
// or fails in CI (testkit.Missing).
func PostgresURL(t testing.TB) string {
	t.Helper()
	base := os.Getenv(PostgresEnv)
	if base == "" {
		testkit.Missing(t, "%s not set", PostgresEnv)
	}
	return base
}

// CreateSchema makes a fresh schema on the server at base, dropped when the
// test ends, and returns a URL whose connections use it.
func CreateSchema(t testing.TB, base string) string {
	t.Helper()
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("postgres: %v", err)
	}
	t.Cleanup(func() { admin.Close() })
	schema := "t_" + strings.ToLower(strings.NewReplacer("-", "", "_", "").Replace(sesame.NewID()))
	if _, err := admin.Exec(`CREATE SCHEMA ` + schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		if _, err := admin.Exec(`DROP SCHEMA ` + schema + ` CASCADE`); err != nil {
			t.Errorf("drop schema: %v", err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("postgres url: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// Engines runs fn as a subtest on SQLite and, when configured, PostgreSQL.
func Engines(t *testing.T, fn func(t *testing.T, d *db.DB)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) { fn(t, SQLite(t)) })
	t.Run("postgres", func(t *testing.T) { fn(t, Postgres(t)) })
}

func open(t testing.TB, url string) *db.DB {
	t.Helper()
	ctx := context.Background()
	d, err := db.Open(ctx, url)
	if err != nil {
		t.Fatalf("open %s: %v", url, err)
	}
	t.Cleanup(func() { d.Close() })
	if err := d.Migrate(ctx, nil); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return d
}
