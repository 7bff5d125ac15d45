package main

import (
	"bytes"
	"context"
	"github.com/sesame-auth/sesame/internal/testkit"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sesame-auth/sesame/db"
	"github.com/sesame-auth/sesame/db/dbtest"
)

func TestPgDumpArgs(t *testing.T) {
	tests := []struct {
		url      string
		wantArgs []string
		wantEnv  []string
	}{
		{"postgres://sesame@db:5432/sesame?sslmode=require",
			[]string{"--format=custom", "--file=out.dump", "--dbname=postgres://sesame@db:5432/sesame?sslmode=require"}, nil},
		{"postgres://sesame:s3cr%40t@db/sesame?search_path=tenant1&pool_max_conns=20&sslmode=disable",
			[]string{"--format=custom", "--file=out.dump", "--schema=tenant1", "--dbname=postgres://sesame@db/sesame?sslmode=disable"},
			[]string{"PGPASSWORD=s3cr@t"}},
	}
	for _, tt := range tests {
		args, env, err := pgDumpArgs(tt.url, "out.dump")
		if err != nil {
			t.Fatalf("pgDumpArgs(%q): %v", tt.url, err)
		}
		if !slices.Equal(args, tt.wantArgs) || !slices.Equal(env, tt.wantEnv) {
			t.Errorf("pgDumpArgs(%q) = %q, %q; want %q, %q", tt.url, args, env, tt.wantArgs, tt.wantEnv)
		}
	}
}

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestBackupSQLiteCommand(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	vars := env(map[string]string{"SESAME_DATABASE": "sqlite:" + filepath.Join(dir, "sesame.db"), "SESAME_DATA_DIR": dir})
	var out, errs bytes.Buffer
	if err := run(ctx, []string{"migrate"}, vars, &out, &errs); err != nil {
		t.Fatalf("migrate: %v\n%s", err, errs.String())
	}
	file := filepath.Join(t.TempDir(), "backup.db")
	if err := run(ctx, []string{"backup", file}, vars, &out, &errs); err != nil {
		t.Fatalf("backup: %v\n%s", err, errs.String())
	}
	d, err := db.Open(ctx, "sqlite:"+file)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := d.Migrate(ctx, nil); err != nil { // nothing left to apply, and the schema is there
		t.Fatal(err)
	}
	if err := run(ctx, []string{"backup"}, vars, &out, &errs); err == nil || !strings.Contains(err.Error(), "usage") {
		t.Errorf("backup without a file = %v; want usage", err)
	}
}

func TestBackupPostgresCommand(t *testing.T) {
	base := os.Getenv(dbtest.PostgresEnv)
	if base == "" {
		testkit.Missing(t, "%s not set", dbtest.PostgresEnv)
	}
	if _, err := exec.LookPath("pg_dump"); err != nil {
		testkit.Missing(t, "pg_dump not installed")
	}
	ctx := context.Background()
	vars := env(map[string]string{"SESAME_DATABASE": dbtest.CreateSchema(t, base), "SESAME_DATA_DIR": t.TempDir()})
	var out, errs bytes.Buffer
	if err := run(ctx, []string{"migrate"}, vars, &out, &errs); err != nil {
		t.Fatalf("migrate: %v\n%s", err, errs.String())
	}
	file := filepath.Join(t.TempDir(), "sesame.dump")
	if err := run(ctx, []string{"backup", file}, vars, &out, &errs); err != nil {
		t.Fatalf("backup: %v\n%s", err, errs.String())
	}
	list, err := exec.Command("pg_restore", "--list", file).CombinedOutput()
	if err != nil {
		t.Fatalf("pg_restore --list: %v\n%s", err, list)
	}
	for _, table := range []string{"users", "sessions", "signing_keys", "goose_db_version"} {
		if !strings.Contains(string(list), "TABLE DATA t_") || !strings.Contains(string(list), " "+table+" ") {
			t.Errorf("the dump lists no data of table %s:\n%s", table, list)
		}
	}
}
