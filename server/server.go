// Package server is Sesame's HTTP layer: the Fiber app, its routes and
// middleware, JSON and problem responses, cookies. It turns requests into
// calls on the feature packages and their results into responses; it holds
// no business rules of its own.
package server

import (
	"context"
	"log/slog"
	"net"
	"net/url"
	"time"

	"github.com/sesame-auth/sesame/account"
	"github.com/sesame-auth/sesame/audit"
	"github.com/sesame-auth/sesame/limit"

	"github.com/gofiber/fiber/v2"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/magiclink"
	"github.com/sesame-auth/sesame/mail"
	"github.com/sesame-auth/sesame/oidc"
	"github.com/sesame-auth/sesame/password"
	"github.com/sesame-auth/sesame/recovery"
	"github.com/sesame-auth/sesame/signin"
	"github.com/sesame-auth/sesame/token"
	"github.com/sesame-auth/sesame/totp"
	"github.com/sesame-auth/sesame/webauthn"
)

// BodyLimit caps every request body (API.md "Conventions").
const BodyLimit = 64 << 10

// Users is the user lookup the server needs; db.DB implements it.
type Users interface {
	UserByID(ctx context.Context, id string) (sesame.User, error)
	// AccountFacts is UserByID with the password, authenticator-app and
	// recovery-code facts /api/me shows, in one read.
	AccountFacts(ctx context.Context, id string) (sesame.AccountFacts, error)
}

// Mailer queues a message in the durable outbox (mail.Queue), whose
// workers render and send it off the request path.
type Mailer interface {
	Enqueue(d mail.Draft) bool
}

// Pinger reports whether the database answers, for /readyz.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Config holds what the server is built from. cmd/sesame fills it.
type Config struct {
	// PublicURL is the origin users see, e.g. "https://id.example.com".
	PublicURL string
	Logger    *slog.Logger
	Users     Users
	DB        Pinger
	Email     *magiclink.Service
	Sessions  *token.Sessions
	Issuer    *token.Issuer
	Keys      *token.Keys
	// Password runs the optional password (SCRAM-SHA-256) and the
	// emailed second factor that follows it.
	Password *password.Service
	// WebAuthn runs passkey and security-key ceremonies.
	WebAuthn *webauthn.Service
	// Recovery makes and spends recovery codes.
	Recovery *recovery.Service
	// TOTP runs authenticator apps.
	TOTP *totp.Service
	// Account changes and deletes the signed-in user's account.
	Account *account.Service
	// Limits enforces rate limits shared through the database.
	Limits *limit.Limiter
	// Audit records security events.
	Audit *audit.Log
	// SignIn turns every verified way in into a session, and records
	// failed attempts.
	SignIn *signin.Service
	// Notices queues the emails users get about their account's security.
	Notices Mailer
	// MailStats, when set, reads the mail outbox's counters for /metrics.
	MailStats func() mail.QueueStats
	// Outbox, when set, is served at /dev/outbox. Only a development setup
	// (public URL on localhost, no SMTP) sets it.
	Outbox *mail.Outbox
	// ProxyHeader names the header carrying the client IP when Sesame runs
	// behind TrustedProxies; empty means the socket's address is used.
	ProxyHeader    string
	TrustedProxies []string
	Now            func() time.Time
	// ReadTimeout (10 s) bounds reading a request; IdleTimeout (60 s) is
	// how long a keep-alive connection may wait for its next one.
	ReadTimeout, IdleTimeout time.Duration
	// OIDC, when set, makes Sesame an OpenID Connect provider.
	OIDC *oidc.Provider
}

// Server is the HTTP server.
type Server struct {
	cfg     Config
	app     *fiber.App
	origin  string
	secure  bool
	metrics *metrics
}

// New builds the server and its routes.
func New(cfg Config) (*Server, error) {
	u, err := url.Parse(cfg.PublicURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, sesame.Errorf(sesame.EBadRequest, "public URL %q must be http(s)://host[:port]", cfg.PublicURL)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.ReadTimeout == 0 {
		cfg.ReadTimeout = 10 * time.Second
	}
	if cfg.IdleTimeout == 0 {
		cfg.IdleTimeout = 60 * time.Second
	}
	s := &Server{
		cfg:     cfg,
		origin:  u.Scheme + "://" + u.Host,
		secure:  u.Scheme == "https",
		metrics: newMetrics(append(mailCounters(cfg.MailStats), cfg.SignIn.Collector())...),
	}
	s.app = fiber.New(fiber.Config{
		AppName:               "sesame",
		ServerHeader:          "",
		DisableStartupMessage: true,
		// Fiber reuses request buffers after a handler returns; Immutable
		// makes every string we keep a copy.
		Immutable:      true,
		BodyLimit:      BodyLimit,
		ReadBufferSize: 16 << 10, // the cap on request headers
		ReadTimeout:    cfg.ReadTimeout,
		WriteTimeout:   10 * time.Second,
		IdleTimeout:    cfg.IdleTimeout,
		ErrorHandler:   errorHandler(cfg.Logger),
		// Client IPs come from the socket unless a proxy is trusted.
		ProxyHeader:             cfg.ProxyHeader,
		EnableTrustedProxyCheck: cfg.ProxyHeader != "",
		TrustedProxies:          cfg.TrustedProxies,
	})
	s.routes()
	s.closeIdleSilently()
	return s, nil
}

// App returns the Fiber app, for tests through app.Test.
func (s *Server) App() *fiber.App { return s.app }

// Serve answers requests on ln until Shutdown.
func (s *Server) Serve(ln net.Listener) error { return s.app.Listener(ln) }

// Shutdown stops accepting connections and waits for open requests until
// ctx ends.
func (s *Server) Shutdown(ctx context.Context) error { return s.app.ShutdownWithContext(ctx) }

func (s *Server) routes() {
	app := s.app
	app.Use(s.recoverPanics, s.observe, s.deadline, s.securityHeaders, s.checkOrigin, s.requireJSON)

	app.Get("/healthz", s.healthz)
	app.Get("/readyz", s.readyz)
	app.Get("/metrics", s.metrics.handler)
	app.Get("/.well-known/jwks.json", s.cors, s.jwks)
	app.Get("/.well-known/openid-configuration", s.cors, s.openIDConfiguration)

	api := app.Group("/api")
	api.Post("/email/start", s.limitIP(limit.EmailStartPerIP), s.emailStart)
	api.Post("/email/verify", s.limitIP(limit.CodeVerifyPerIP), s.emailVerify)
	api.Post("/email/link", s.limitIP(limit.CodeVerifyPerIP), s.emailLink)
	api.Post("/email/link/info", s.limitIP(limit.CodeVerifyPerIP), s.emailLinkInfo)

	api.Post("/session/refresh", s.limitIP(limit.SessionPerIP), s.refresh)
	api.Post("/session/logout", s.limitIP(limit.SessionPerIP), s.logout)
	api.Post("/session/logout-all", s.requireAuth, s.requireLiveSession, s.logoutAll)

	api.Get("/me", s.requireAuth, s.me)
	api.Get("/me/sessions", s.requireAuth, s.mySessions)
	api.Get("/me/activity", s.requireAuth, s.myActivity)
	api.Delete("/me/sessions/:id", s.requireAuth, s.requireLiveSession, s.endMySession)

	api.Post("/webauthn/register/begin", s.limitIP(limit.WebAuthnBeginPerIP), s.requireAuth, s.requireLiveSession, s.requireRecentAuth, s.webauthnRegisterBegin)
	api.Post("/webauthn/register/finish", s.requireAuth, s.requireLiveSession, s.requireRecentAuth, s.webauthnRegisterFinish)
	api.Post("/webauthn/login/begin", s.limitIP(limit.WebAuthnBeginPerIP), s.webauthnLoginBegin)
	api.Post("/webauthn/login/finish", s.limitIP(limit.WebAuthnFinishPerIP), s.webauthnLoginFinish)
	api.Patch("/me/credentials/:id", s.requireAuth, s.requireLiveSession, s.renameMyCredential)
	api.Delete("/me/credentials/:id", s.requireAuth, s.requireLiveSession, s.requireRecentAuth, s.removeMyCredential)

	api.Post("/password/login/begin", s.limitIP(limit.PasswordLoginPerIP), s.passwordLoginBegin)
	api.Post("/password/login/finish", s.limitIP(limit.PasswordFinishPerIP), s.passwordLoginFinish)
	api.Post("/password/set/begin", s.requireAuth, s.requireLiveSession, s.requireRecentAuth, s.passwordSetBegin)
	api.Post("/password/set/finish", s.requireAuth, s.requireLiveSession, s.requireRecentAuth, s.passwordSetFinish)
	api.Delete("/password", s.requireAuth, s.requireLiveSession, s.requireRecentAuth, s.passwordRemove)
	api.Post("/mfa/email/send", s.limitIP(limit.MFASendPerIP), s.mfaEmailSend)
	api.Post("/mfa/email/verify", s.limitIP(limit.CodeVerifyPerIP), s.mfaEmailVerify)
	api.Post("/mfa/webauthn/begin", s.limitIP(limit.WebAuthnBeginPerIP), s.mfaWebAuthnBegin)
	api.Post("/mfa/webauthn/finish", s.limitIP(limit.WebAuthnFinishPerIP), s.mfaWebAuthnFinish)

	s.accountRoutes(api)
	s.oidcRoutes()
	s.pages()
}
