package main

import (
	"flag"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/sesame-auth/sesame/internal/app"
)

// Config is every setting, read from SESAME_* variables; a flag named like
// the variable without its prefix (--public-url) wins.
type Config struct {
	App       app.Config
	LogLevel  string
	LogFormat string
	// ExtraOrigins is SESAME_EXTRA_ORIGINS as given: comma-separated.
	ExtraOrigins string
	// KeyReload and TrustedProxies are SESAME_KEY_RELOAD and
	// SESAME_TRUSTED_PROXIES as given.
	KeyReload      string
	TrustedProxies string
	// AuditRetention is SESAME_AUDIT_RETENTION as given: "400d" or a Go
	// duration.
	AuditRetention string
}

type setting struct {
	name, def, help string
	dst             *string
}

func (c *Config) settings() []setting {
	return []setting{
		{"ADDR", "127.0.0.1:8080", "listen address", &c.App.Addr},
		{"PUBLIC_URL", "http://localhost:8080", "origin users see; the WebAuthn RP ID is its host", &c.App.PublicURL},
		{"DATABASE", "sqlite:data/sesame.db", "sqlite:<path> or postgres://…", &c.App.Database},
		{"DATA_DIR", "data", "where the generated root secret is kept", &c.App.DataDir},
		{"SIGNUP", "open", "open, or closed: email flows only sign in existing accounts", &c.App.Signup},
		{"SMTP_URL", "", "smtp://user:pass@host:port or smtps://…; empty: log and /dev/outbox", &c.App.SMTPURL},
		{"MAIL_FROM", "Sesame <no-reply@localhost>", "sender address", &c.App.MailFrom},
		{"SECRET", "", "root secret (base64, 32+ bytes); empty: generated into the data directory", &c.App.Secret},
		{"AUDIENCE", "", "access-token audience; empty: the public URL", &c.App.Audience},
		{"RATE_LIMITS", "on", "on, off (load tests only) or a multiplier of the limits", &c.App.RateLimits},
		{"RP_NAME", "Sesame", "WebAuthn relying party name shown by authenticators", &c.App.RPName},
		{"EXTRA_ORIGINS", "", "comma-separated origins besides the public URL allowed for WebAuthn (e.g. android:apk-key-hash:…)", &c.ExtraOrigins},
		{"USER_VERIFICATION", "preferred", "WebAuthn user verification: preferred or required", &c.App.UserVerification},
		{"KEY_RELOAD", "30s", "how often signing keys are re-read from the database, so every instance follows a rotation", &c.KeyReload},
		{"PROXY_HEADER", "", "header a trusted reverse proxy sets to the client IP (X-Real-IP); empty: the socket's address", &c.App.ProxyHeader},
		{"TRUSTED_PROXIES", "", "comma-separated IPs or CIDRs of reverse proxies whose PROXY_HEADER is believed", &c.TrustedProxies},
		{"AUDIT_RETENTION", "400d", "how long audit rows are kept: days (400d) or a duration (9600h)", &c.AuditRetention},
		{"PPROF_ADDR", "", "loopback address serving net/http/pprof (profiling); empty: off", &c.App.PprofAddr},
		{"LOG_LEVEL", "info", "debug, info, warn or error", &c.LogLevel},
		{"LOG_FORMAT", "text", "text or json", &c.LogFormat},
	}
}

// flagName turns PUBLIC_URL into public-url.
func flagName(env string) string { return strings.ToLower(strings.ReplaceAll(env, "_", "-")) }

// parseConfig reads the environment, then the flags in args.
func parseConfig(fs *flag.FlagSet, args []string, getenv func(string) string) (Config, error) {
	var c Config
	for _, s := range c.settings() {
		v := getenv("SESAME_" + s.name)
		if v == "" {
			v = s.def
		}
		fs.StringVar(s.dst, flagName(s.name), v, s.help+" (SESAME_"+s.name+")")
	}
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	return c, c.validate()
}

func (c *Config) validate() error {
	u, err := url.Parse(c.App.PublicURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") {
		return fmt.Errorf("public URL %q: want http(s)://host[:port] with no path", c.App.PublicURL)
	}
	c.App.PublicURL = u.Scheme + "://" + u.Host
	if c.App.Signup != "open" && c.App.Signup != "closed" {
		return fmt.Errorf("signup %q: want open or closed", c.App.Signup)
	}
	if c.App.Audience == "" {
		c.App.Audience = c.App.PublicURL
	}
	if c.App.UserVerification != "preferred" && c.App.UserVerification != "required" {
		return fmt.Errorf("user verification %q: want preferred or required", c.App.UserVerification)
	}
	c.App.ExtraOrigins = nil
	for _, o := range strings.Split(c.ExtraOrigins, ",") {
		if o = strings.TrimSpace(o); o != "" {
			c.App.ExtraOrigins = append(c.App.ExtraOrigins, o)
		}
	}
	if c.App.KeyReload, err = time.ParseDuration(c.KeyReload); err != nil || c.App.KeyReload < time.Second {
		return fmt.Errorf("key reload %q: want a duration of at least 1s, such as 30s", c.KeyReload)
	}
	if c.App.AuditRetention, err = parseRetention(c.AuditRetention); err != nil {
		return err
	}
	c.App.TrustedProxies = nil
	for _, p := range strings.Split(c.TrustedProxies, ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		if _, _, err := net.ParseCIDR(p); err != nil && net.ParseIP(p) == nil {
			return fmt.Errorf("trusted proxies: %q is neither an IP nor a CIDR", p)
		}
		c.App.TrustedProxies = append(c.App.TrustedProxies, p)
	}
	if c.App.ProxyHeader != "" && len(c.App.TrustedProxies) == 0 {
		return fmt.Errorf("proxy header %q: set SESAME_TRUSTED_PROXIES to the proxies allowed to send it", c.App.ProxyHeader)
	}
	if a := c.App.PprofAddr; a != "" {
		host, _, err := net.SplitHostPort(a)
		if ip := net.ParseIP(host); err != nil || (host != "localhost" && (ip == nil || !ip.IsLoopback())) {
			return fmt.Errorf("pprof address %q: want a loopback host:port such as 127.0.0.1:6060", a)
		}
	}
	return nil
}

// parseRetention reads "400d" (days) or a Go duration of at least a day.
func parseRetention(v string) (time.Duration, error) {
	var d time.Duration
	var err error
	if days, ok := strings.CutSuffix(v, "d"); ok {
		var n int
		n, err = strconv.Atoi(days)
		d = time.Duration(n) * 24 * time.Hour
	} else {
		d, err = time.ParseDuration(v)
	}
	if err != nil || d < 24*time.Hour {
		return 0, fmt.Errorf("audit retention %q: want days (400d) or a duration of at least 24h", v)
	}
	return d, nil
}
