// Command sesame is the Sesame authentication server.
//
//	sesame serve          start the server (the default)
//	sesame migrate        apply database migrations and exit
//	sesame keys rotate    start signing with a new key; the old one stays published
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
	"time"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/db"
	"github.com/sesame-auth/sesame/magiclink"
	"github.com/sesame-auth/sesame/mail"
	"github.com/sesame-auth/sesame/server"
	"github.com/sesame-auth/sesame/token"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "sesame:", err)
		}
		os.Exit(1)
	}
}

// run dispatches a command line. It is main without the process, so tests
// can drive it.
func run(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
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
	fs := flag.NewFlagSet("sesame "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg, err := parseConfig(fs, args, getenv)
	if err != nil {
		return err
	}
	log, err := newLogger(cfg, stderr)
	if err != nil {
		return err
	}
	m, err := open(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer m.Close()
	switch cmd {
	case "serve":
		return m.Serve(ctx)
	case "migrate":
		return nil // open migrated
	case "keys rotate":
		kid, err := m.keys.Rotate(ctx)
		if err != nil {
			return err
		}
		log.Info("signing key rotated", "kid", kid)
		return nil
	}
	return fmt.Errorf("unknown command %q (serve, migrate, keys rotate)", cmd)
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

// Main is the running program: the database, the services built on it and
// the server, opened in order and closed in reverse.
type Main struct {
	cfg    Config
	log    *slog.Logger
	db     *db.DB
	keys   *token.Keys
	queue  *mail.Queue
	server *server.Server
}

func open(ctx context.Context, cfg Config, log *slog.Logger) (*Main, error) {
	m := &Main{cfg: cfg, log: log}
	secret, err := loadSecret(cfg.Secret, cfg.DataDir)
	if err != nil {
		return nil, err
	}
	if m.db, err = db.Open(ctx, cfg.Database); err != nil {
		return nil, err
	}
	if err := m.db.Migrate(ctx, log); err != nil {
		m.Close()
		return nil, err
	}
	if m.keys, err = token.NewKeys(m.db, secret.Key(sesame.PurposeKeyEncryption), token.KeysOptions{Logger: log}); err != nil {
		m.Close()
		return nil, err
	}
	if err := m.keys.Ensure(ctx); err != nil {
		m.Close()
		return nil, fmt.Errorf("signing keys: %w", err)
	}
	issuer, err := token.NewIssuer(m.keys, token.IssuerOptions{Issuer: cfg.PublicURL, Audience: cfg.Audience})
	if err != nil {
		m.Close()
		return nil, err
	}

	var sender mail.Sender
	var outbox *mail.Outbox
	if cfg.SMTPURL != "" {
		if sender, err = mail.NewSMTP(cfg.SMTPURL, cfg.MailFrom); err != nil {
			m.Close()
			return nil, err
		}
	} else {
		outbox = mail.NewOutbox(log)
		sender = outbox
		if !cfg.isLocalhost() {
			log.Warn("no SMTP server configured: mail is only logged; set SESAME_SMTP_URL")
			outbox = nil // never serve /dev/outbox beyond localhost
		}
	}
	m.queue = mail.NewQueue(sender, log, 4, 1024)

	m.server, err = server.New(server.Config{
		PublicURL: cfg.PublicURL,
		Logger:    log,
		Users:     m.db,
		DB:        m.db,
		Email: magiclink.New(magiclink.Config{
			Store:      m.db,
			Mail:       m.queue,
			CodeKey:    secret.Key(sesame.PurposeCodeMAC),
			PublicURL:  cfg.PublicURL,
			SignupOpen: cfg.Signup == "open",
		}),
		Sessions: token.NewSessions(token.SessionsConfig{Store: m.db}),
		Issuer:   issuer,
		Keys:     m.keys,
		Outbox:   outbox,
	})
	if err != nil {
		m.Close()
		return nil, err
	}
	return m, nil
}

// Serve listens until ctx ends (SIGTERM or SIGINT), then shuts down
// gracefully: open requests get up to 10 seconds to finish.
func (m *Main) Serve(ctx context.Context) error {
	ln, err := net.Listen("tcp", m.cfg.Addr)
	if err != nil {
		return err
	}
	go m.sweep(ctx)
	m.log.Info("sesame listening", "addr", ln.Addr().String(), "public_url", m.cfg.PublicURL, "database", m.db.Dialect())
	errc := make(chan error, 1)
	go func() { errc <- m.server.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	m.log.Info("shutting down")
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return m.server.Shutdown(shutdown)
}

// sweep deletes expired rows every minute.
func (m *Main) sweep(ctx context.Context) {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if n, err := m.db.Sweep(ctx, time.Now(), 24*time.Hour); err != nil {
				m.log.Warn("sweep failed", "err", err)
			} else if n > 0 {
				m.log.Debug("swept expired rows", "rows", n)
			}
		}
	}
}

// Close releases everything open, in reverse order.
func (m *Main) Close() error {
	var err error
	if m.queue != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err = m.queue.Close(ctx)
		cancel()
	}
	if m.db != nil {
		err = errors.Join(err, m.db.Close())
	}
	return err
}
