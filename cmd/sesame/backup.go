package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"os/exec"
	"strings"

	"github.com/sesame-auth/sesame/db"
)

// backup writes a consistent copy of the database to the file named in
// args, online: on SQLite with VACUUM INTO, on PostgreSQL by running
// pg_dump (custom format, for pg_restore). It opens the database without
// migrating it, so a newer binary can back up an older database before the
// upgrade touches it.
func backup(ctx context.Context, cfg Config, log *slog.Logger, args []string, stdout io.Writer) error {
	if len(args) != 1 || args[0] == "" {
		return errors.New("usage: sesame backup [flags] FILE (flags before the file)")
	}
	file := args[0]
	if strings.HasPrefix(cfg.App.Database, "postgres://") || strings.HasPrefix(cfg.App.Database, "postgresql://") {
		if err := pgDump(ctx, cfg.App.Database, file, stdout); err != nil {
			return err
		}
		log.Info("backup written with pg_dump; restore with pg_restore", "file", file)
		return nil
	}
	d, err := db.Open(ctx, cfg.App.Database)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Backup(ctx, file); err != nil {
		return err
	}
	log.Info("backup written; it is a complete SQLite database", "file", file)
	return nil
}

// pgDump runs pg_dump for the database at rawURL into file.
func pgDump(ctx context.Context, rawURL, file string, out io.Writer) error {
	if _, err := os.Lstat(file); err == nil {
		return fmt.Errorf("backup: %s already exists", file)
	}
	args, env, err := pgDumpArgs(rawURL, file)
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, "pg_dump", args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = out, os.Stderr
	if err := cmd.Run(); err != nil {
		os.Remove(file) // a partial dump is no backup
		if errors.Is(err, exec.ErrNotFound) {
			return errors.New("backup: pg_dump not found: install the PostgreSQL client of the server's major version")
		}
		return fmt.Errorf("backup: pg_dump: %w", err)
	}
	return nil
}

// pgDumpArgs turns Sesame's PostgreSQL URL into pg_dump's arguments and
// environment. The password moves to PGPASSWORD, so it never shows in the
// process list; search_path (which pgx takes as a run-time parameter and
// libpq refuses in a URL) becomes --schema; other pgx-only parameters are
// dropped.
func pgDumpArgs(rawURL, file string) (args, env []string, err error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, nil, errors.New("backup: the database URL does not parse")
	}
	if pw, ok := u.User.Password(); ok {
		env = append(env, "PGPASSWORD="+pw)
		u.User = url.User(u.User.Username())
	}
	args = []string{"--format=custom", "--file=" + file}
	q := u.Query()
	for k := range q {
		switch {
		case k == "search_path":
			for _, s := range strings.Split(q.Get(k), ",") {
				if s = strings.TrimSpace(s); s != "" {
					args = append(args, "--schema="+s)
				}
			}
			q.Del(k)
		case strings.HasPrefix(k, "pool_"), k == "statement_cache_capacity", k == "description_cache_capacity",
			k == "default_query_exec_mode", k == "prefer_simple_protocol":
			q.Del(k)
		}
	}
	u.RawQuery = q.Encode()
	return append(args, "--dbname="+u.String()), env, nil
}
