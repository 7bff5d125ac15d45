// Command sesame is the Sesame authentication server.
//
//	sesame serve          start the server (the default)
//	sesame migrate        apply database migrations and exit
//	sesame keys rotate    start signing with a new key; the old one stays published
//	sesame audit --user EMAIL   print a user's security events, newest first
//	sesame backup FILE    write an online backup (SQLite: a database file; PostgreSQL: pg_dump)
//	sesame users list [--json]          list users with their last sign-in
//	sesame users show EMAIL [--json]    a user's factors, sessions and last sign-in
//	sesame users disable|enable|delete EMAIL   audited; disable and delete end sessions at once
//	sesame clients add|list|show|remove|rotate-secret   manage OpenID Connect clients
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/sesame-auth/sesame/internal/app"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "sesame:", err)
		}
		os.Exit(1)
	}
}

// run dispatches a command line. It is main without the process, so tests
// can drive it.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	if cmd == "keys" {
		if len(args) == 0 || args[0] != "rotate" {
			return errors.New("usage: sesame keys rotate")
		}
		cmd, args = "keys rotate", args[1:]
	}
	var userEmail, clientsSub string
	if cmd == "users" {
		var err error
		if cmd, userEmail, args, err = usersCommand(args); err != nil {
			return err
		}
	}
	if cmd == "clients" {
		if len(args) == 0 {
			return errors.New(clientsUsage)
		}
		clientsSub, args = args[0], flagsFirst(args[1:])
	}
	fs := flag.NewFlagSet("sesame "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	auditUser := fs.String("user", "", "for audit: the user's email address")
	jsonOut := fs.Bool("json", false, "for users and clients: print JSON")
	var cf clientFlags
	if cmd == "clients" {
		cf.register(fs)
	}
	cfg, err := parseConfig(fs, args, getenv)
	if err != nil {
		return err
	}
	log, err := newLogger(cfg, stderr)
	if err != nil {
		return err
	}
	if cmd == "backup" { // before app.Open: a backup never migrates
		return backup(ctx, cfg, log, fs.Args(), stdout)
	}
	a, err := app.Open(ctx, cfg.App, log, app.Options{})
	if err != nil {
		return err
	}
	defer a.Close()
	if strings.HasPrefix(cmd, "users ") {
		return runUsers(ctx, a, cmd, userEmail, *jsonOut, stdout)
	}
	switch cmd {
	case "serve":
		ln, err := net.Listen("tcp", cfg.App.Addr)
		if err != nil {
			return err
		}
		return a.Serve(ctx, ln)
	case "migrate":
		return nil // Open migrated
	case "keys rotate":
		kid, err := a.Keys.Rotate(ctx)
		if err != nil {
			return err
		}
		log.Info("signing keys rotated (ES256 and RS256)", "es256_kid", kid)
		return nil
	case "audit":
		return printAudit(ctx, a, *auditUser, stdout)
	case "clients":
		cf.json = *jsonOut
		return runClients(ctx, a, clientsSub, &cf, fs.Args(), stdout)
	}
	return fmt.Errorf("unknown command %q (serve, migrate, keys rotate, audit, backup, users, clients)", cmd)
}

func newLogger(cfg Config, w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(cfg.LogLevel)); err != nil {
		return nil, fmt.Errorf("log level %q: %w", cfg.LogLevel, err)
	}
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return slog.New(slog.NewTextHandler(w, opts)), nil
}
