package main

import (
	"flag"
	"fmt"
	"net/url"
	"strings"

	"github.com/sesame-auth/sesame/internal/app"
)

// Config is every setting, read from SESAME_* variables; a flag named like
// the variable without its prefix (--public-url) wins.
type Config struct {
	App       app.Config
	LogLevel  string
	LogFormat string
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
	return nil
}
