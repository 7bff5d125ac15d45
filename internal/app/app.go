// Package app wires Sesame together: it opens the database, builds the
// feature packages on it and hands them to the server. cmd/sesame runs it;
// end-to-end tests build the very same wiring around a test clock, a
// temporary SQLite file and an in-process SMTP server.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	netmail "net/mail"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sesame-auth/sesame/account"
	"github.com/sesame-auth/sesame/audit"
	"github.com/sesame-auth/sesame/limit"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/db"
	"github.com/sesame-auth/sesame/magiclink"
	"github.com/sesame-auth/sesame/mail"
	"github.com/sesame-auth/sesame/oidc"
	"github.com/sesame-auth/sesame/password"
	"github.com/sesame-auth/sesame/recovery"
	"github.com/sesame-auth/sesame/server"
	"github.com/sesame-auth/sesame/signin"
	"github.com/sesame-auth/sesame/token"
	"github.com/sesame-auth/sesame/totp"
	"github.com/sesame-auth/sesame/webauthn"
)

// Config is every setting of a running Sesame (API.md "Configuration").
type Config struct {
	Addr      string
	PublicURL string
	Database  string
	DataDir   string
	Signup    string // "open" or "closed"
	SMTPURL   string
	MailFrom  string
	Secret    string
	Audience  string
	// RateLimits is "on" (SECURITY.md's numbers), an integer that multiplies
	// them, or "off" (load tests only; logged as a warning).
	RateLimits string
	// RPName is the WebAuthn relying party's display name ("Sesame").
	RPName string
	// ExtraOrigins are origins besides the public URL allowed to run
	// WebAuthn ceremonies, such as a native app's.
	ExtraOrigins []string
	// UserVerification is the WebAuthn UV policy: "preferred" (default) or
	// "required".
	UserVerification string
	// KeyReload is how often signing keys are read again from the
	// database, so that a rotation reaches every instance; 0 means 30 s.
	KeyReload time.Duration
	// ProxyHeader names the header a trusted reverse proxy puts the client
	// IP in (X-Real-IP); it is read only on connections from
	// TrustedProxies (IPs or CIDRs). Empty: the socket's address is used.
	ProxyHeader    string
	TrustedProxies []string
	// AuditRetention is how long audit rows are kept; 0 means 400 days.
	AuditRetention time.Duration
	// PprofAddr, when set, serves net/http/pprof on this (loopback)
	// address, apart from the public listener.
	PprofAddr string
}

// IsLocalhost reports whether the public URL is on this machine, where the
// development outbox may be served.
func (c Config) IsLocalhost() bool {
	u, err := url.Parse(c.PublicURL)
	if err != nil {
		return false
	}
	h := u.Hostname()
	return h == "localhost" || h == "127.0.0.1" || h == "::1"
}

// Options are what tests inject; the zero value is production.
type Options struct {
	Now func() time.Time
	// SweepEvery is how often expired rows are deleted; 0 means a minute.
	SweepEvery time.Duration
	// MailPoll, MailBackoff and MailLease shorten the mail outbox's
	// polling, first retry (later ones wait up to four times as long) and
	// lease, so fault tests run in seconds.
	MailPoll, MailBackoff, MailLease time.Duration
	// LogoutPoll and LogoutBackoff shorten the back-channel logout
	// outbox's polling and first retry (oidc.Config).
	LogoutPoll, LogoutBackoff time.Duration
	// ReadTimeout and IdleTimeout, when set, replace the server's (tests of
	// idle connections).
	ReadTimeout, IdleTimeout time.Duration
}

// App is a running Sesame: the database, the services built on it and the
// server, opened in order and closed in reverse.
type App struct {
	Config Config
	Log    *slog.Logger
	DB     *db.DB
	Keys   *token.Keys
	Issuer *token.Issuer
	Server *server.Server
	// Account changes and deletes users, for the server and operators.
	Account *account.Service
	// OIDC is the OpenID Connect provider.
	OIDC  *oidc.Provider
	queue *mail.Queue
	// stopLimits ends the flusher of the batched rate-limit counts;
	// limitsDone closes when its last flush is written.
	stopLimits context.CancelFunc
	limitsDone chan struct{}
	now        func() time.Time
	sweepEvery time.Duration

	closeOnce sync.Once
	closeErr  error
}

// Open opens the database, migrates it and builds every service.
func Open(ctx context.Context, cfg Config, log *slog.Logger, opts Options) (*App, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.SweepEvery <= 0 {
		opts.SweepEvery = time.Minute
	}
	a := &App{Config: cfg, Log: log, now: opts.Now, sweepEvery: opts.SweepEvery}
	if err := a.open(ctx, opts); err != nil {
		a.Close()
		return nil, err
	}
	return a, nil
}

func (a *App) open(ctx context.Context, opts Options) error {
	cfg, log := a.Config, a.Log
	if opts.Now == nil {
		opts.Now = time.Now
	}
	secret, err := LoadSecret(cfg.Secret, cfg.DataDir)
	if err != nil {
		return err
	}
	if a.DB, err = db.Open(ctx, cfg.Database); err != nil {
		return err
	}
	if err := a.DB.Migrate(ctx, log); err != nil {
		return err
	}
	a.DB.SetAuditRetention(cfg.AuditRetention)
	if a.Keys, err = token.NewKeys(a.DB, secret.Key(sesame.PurposeKeyEncryption), token.KeysOptions{Logger: log, Now: opts.Now, Reload: cfg.KeyReload, RSA: true}); err != nil {
		return err
	}
	if err := a.Keys.Ensure(ctx); err != nil {
		return fmt.Errorf("signing keys: %w", err)
	}
	if a.Issuer, err = token.NewIssuer(a.Keys, token.IssuerOptions{Issuer: cfg.PublicURL, Audience: cfg.Audience, Now: opts.Now}); err != nil {
		return err
	}

	var sender mail.Sender
	var outbox *mail.Outbox
	if cfg.SMTPURL != "" {
		if sender, err = mail.NewSMTP(cfg.SMTPURL, cfg.MailFrom); err != nil {
			return err
		}
	} else {
		outbox = mail.NewOutbox(log)
		sender = outbox
		if !cfg.IsLocalhost() {
			log.Warn("no SMTP server configured: mail is only logged; set SESAME_SMTP_URL")
			outbox = nil // never serve /dev/outbox beyond localhost
		}
	}
	if a.queue, err = mail.NewQueue(mail.QueueConfig{
		Store:        a.DB,
		Sender:       sender,
		Key:          secret.Key(sesame.PurposeMailSeal),
		Domain:       mailDomain(cfg),
		Log:          log,
		Now:          opts.Now,
		Poll:         opts.MailPoll,
		FirstBackoff: opts.MailBackoff,
		MaxBackoff:   4 * opts.MailBackoff,
		Lease:        opts.MailLease,
	}); err != nil {
		return err
	}
	limitScale, err := rateLimitScale(cfg.RateLimits)
	if err != nil {
		return err
	}
	if limitScale == 0 {
		log.Warn("RATE LIMITS ARE OFF: never run like this in production (SESAME_RATE_LIMITS=off)")
	} else if limitScale > 1 {
		log.Warn("rate limits raised", "multiplier", limitScale)
	}

	limits := limit.New(a.DB, opts.Now, limitScale)
	// Per-IP counts are kept in memory and written in one batch every
	// limit.FlushEvery (docs/performance.md).
	var flushCtx context.Context
	flushCtx, a.stopLimits = context.WithCancel(context.WithoutCancel(ctx))
	a.limitsDone = make(chan struct{})
	go func() {
		defer close(a.limitsDone)
		limits.Run(flushCtx, func(err error) { log.Warn("rate-limit flush failed", "err", err) })
	}()
	// Security notices pass a per-recipient cap (SECURITY rule 57); a
	// database hiccup lets the notice through.
	notices := mail.NoticeCap{Queue: a.queue, Log: log, Allow: func(to string) bool {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return sesame.ErrorCode(limits.Allow(ctx, limit.NoticesPerUserHour, to)) != sesame.ERateLimited
	}}
	var tarpit password.Tarpit
	if limitScale > 0 {
		tarpit = limit.NewPasswordTarpit(a.DB, opts.Now)
	}
	passwords := password.New(password.Config{
		Tarpit: tarpit,
		OpenLogins: func(ctx context.Context, email string) error {
			return limits.Allow(ctx, limit.PasswordBeginPerAddress, email)
		},
		Store:       a.DB,
		Mail:        notices,
		FakeSaltKey: secret.Key(sesame.PurposeFakeSalt),
		CodeKey:     secret.Key(sesame.PurposeCodeMAC),
		PublicURL:   cfg.PublicURL,
		Credentials: a.DB,
		Factors:     a.DB,
		Logger:      log,
		Now:         opts.Now,
	})
	passkeys, err := webauthn.New(webauthn.Config{
		Store:             a.DB,
		Mail:              notices,
		PublicURL:         cfg.PublicURL,
		ExtraOrigins:      cfg.ExtraOrigins,
		RPName:            cfg.RPName,
		UserVerification:  cfg.UserVerification,
		FakeCredentialKey: secret.Key(sesame.PurposeFakeCredential),
		ChallengeKey:      secret.Key(sesame.PurposeLoginChallenge),
		Logger:            log,
		Now:               opts.Now,
	})
	if err != nil {
		return err
	}
	auditLog := audit.New(a.DB, log, opts.Now)
	authenticators, err := totp.New(totpConfig(a.DB, secret, cfg.PublicURL, opts.Now))
	if err != nil {
		return err
	}
	observe := oidc.Observer(func(string, string) {}) // the server, which owns the metrics, comes next
	a.OIDC = oidc.New(oidc.Config{
		Issuer:    cfg.PublicURL,
		Store:     a.DB,
		Users:     a.DB,
		Keys:      a.Keys,
		Audit:     auditLog,
		BinderKey: secret.Key(sesame.PurposeOAuthRequestBinder),
		CIBA:      a.DB,
		Passkeys:  passkeys,
		SignIns:   signin.StoreOf[*db.Tx](a.DB),
		Mail:      a.queue,
		LimitClient: func(ctx context.Context, clientID string) error {
			return limits.Allow(ctx, limit.BCAuthorizePerClient, clientID)
		},
		LimitMail: func(ctx context.Context, userID string) error {
			return limits.Allow(ctx, limit.ApprovalMailsPerUserHour, userID)
		},
		Observe:       func(event, result string) { observe(event, result) },
		Logger:        log,
		LogoutPoll:    opts.LogoutPoll,
		LogoutBackoff: opts.LogoutBackoff,
		Now:           opts.Now,
	})
	sessions := token.NewSessions(token.SessionsConfig{Store: a.DB, Now: opts.Now, Ended: a.OIDC})
	a.Account = account.New(account.Config{
		Store: a.DB, Mail: a.queue, Notices: notices, Sessions: sessions,
		CodeKey: secret.Key(sesame.PurposeCodeMAC), PublicURL: cfg.PublicURL, Now: opts.Now,
	})
	a.Server, err = server.New(server.Config{
		PublicURL: cfg.PublicURL,
		Logger:    log,
		Users:     a.DB,
		DB:        a.DB,
		Email: magiclink.New(magiclink.Config{
			Store:      a.DB,
			Mail:       a.queue,
			CodeKey:    secret.Key(sesame.PurposeCodeMAC),
			PublicURL:  cfg.PublicURL,
			SignupOpen: cfg.Signup != "closed",
			Now:        opts.Now,
		}),
		Sessions: sessions,
		Password: passwords,
		WebAuthn: passkeys,
		Recovery: recovery.New(recoveryConfig(a.DB, secret, tarpit, opts.Now)),
		TOTP:     authenticators,
		Account:  a.Account,
		Issuer:   a.Issuer,
		Keys:     a.Keys,
		Outbox:   outbox,
		Limits:   limits,
		Audit:    auditLog,
		SignIn: signin.New(signin.Config{
			Store:     signin.StoreOf[*db.Tx](a.DB),
			Sessions:  sessions,
			Audit:     auditLog,
			Notices:   notices,
			PublicURL: cfg.PublicURL,
			Logger:    log,
			Now:       opts.Now,
		}),
		OIDC:        a.OIDC,
		Notices:     notices,
		MailStats:   a.queue.Stats,
		Now:         opts.Now,
		ReadTimeout: opts.ReadTimeout,
		IdleTimeout: opts.IdleTimeout,
		// Client IPs for limits and audit come from ProxyHeader only on
		// connections from a trusted proxy (docs/deploy.md).
		ProxyHeader:    cfg.ProxyHeader,
		TrustedProxies: cfg.TrustedProxies,
	})
	if err != nil {
		return err
	}
	observe = a.Server.OIDCEvent
	return nil
}

// Serve answers on ln until ctx ends (SIGTERM or SIGINT), then shuts down
// gracefully: open requests get up to 10 seconds to finish.
func (a *App) Serve(ctx context.Context, ln net.Listener) error {
	go a.sweep(ctx)
	if a.Config.PprofAddr != "" {
		if err := a.servePprof(ctx); err != nil {
			return err
		}
	}
	a.Log.Info("sesame listening", "addr", ln.Addr().String(), "public_url", a.Config.PublicURL, "database", a.DB.Dialect())
	errc := make(chan error, 1)
	go func() { errc <- a.Server.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	a.Log.Info("shutting down")
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return a.Server.Shutdown(shutdown)
}

// sweep deletes expired rows every minute, by the app's clock. Every
// instance tries; a database lock lets one at a time do it
// (db.SweepExpired).
func (a *App) sweep(ctx context.Context) {
	t := time.NewTicker(a.sweepEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			a.SweepOnce(ctx)
		}
	}
}

// SweepOnce is one round of the sweeper: approvals that expired unanswered
// are marked and recorded (each once, whichever instance gets there
// first), then expired rows are deleted.
func (a *App) SweepOnce(ctx context.Context) {
	if n, err := a.OIDC.ExpireApprovals(ctx); err != nil {
		a.Log.Warn("expiring approvals failed", "err", err)
	} else if n > 0 {
		a.Log.Debug("approvals expired", "requests", n)
	}
	if swept, n, err := a.DB.SweepExpired(ctx, a.now()); err != nil {
		a.Log.Warn("sweep failed", "err", err)
	} else if !swept {
		a.Log.Debug("sweep skipped: another instance is sweeping")
	} else if n > 0 {
		a.Log.Debug("swept expired rows", "rows", n)
	}
}

// MailStats returns this instance's mail outbox counters.
func (a *App) MailStats() mail.QueueStats { return a.queue.Stats() }

// Close stops the back-channel logout sender and the mail workers (what
// they have not sent stays in the outbox) and closes the database. Calls
// after the first do nothing.
func (a *App) Close() error {
	a.closeOnce.Do(func() {
		if a.OIDC != nil {
			a.OIDC.Close()
		}
		if a.stopLimits != nil {
			a.stopLimits()
			<-a.limitsDone
		}
		if a.queue != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			a.closeErr = a.queue.Close(ctx)
			cancel()
		}
		if a.DB != nil {
			a.closeErr = errors.Join(a.closeErr, a.DB.Close())
		}
	})
	return a.closeErr
}

// mailDomain is the right-hand side of Message-IDs: the From address's
// domain, else the public URL's host.
func mailDomain(cfg Config) string {
	if a, err := netmail.ParseAddress(cfg.MailFrom); err == nil {
		if at := strings.LastIndexByte(a.Address, '@'); at >= 0 {
			return a.Address[at+1:]
		}
	}
	if u, err := url.Parse(cfg.PublicURL); err == nil && u.Hostname() != "" {
		return u.Hostname()
	}
	return "localhost"
}

func rateLimitScale(v string) (int, error) {
	switch v {
	case "", "on":
		return 1, nil
	case "off":
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("rate limits %q: want on, off or a multiplier of at least 1", v)
	}
	return n, nil
}
