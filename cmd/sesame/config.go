package main

import (
	"flag"
	"fmt"
	"net/url"
	"strings"
)

// Config is every setting, read from SESAME_* variables; a flag named like
// the variable without its prefix (--public-url) wins.
type Config struct {
	Addr      string
	PublicURL string
	Database  string
	DataDir   string
	Signup    string
	SMTPURL   string
	MailFrom  string
	Secret    string
	Audience  string
	LogLevel  string
	LogFormat string
}

type setting struct {
	name, def, help string
	dst             *string
}

func (c *Config) settings() []setting {
	return []setting{
		{"ADDR", "127.0.0.1:8080", "listen address", &c.Addr},
		{"PUBLIC_URL", "http://localhost:8080", "origin users see; the WebAuthn RP ID is its host", &c.PublicURL},
		{"DATABASE", "sqlite:data/sesame.db", "sqlite:<path> or postgres://…", &c.Database},
		{"DATA_DIR", "data", "where the generated root secret is kept", &c.DataDir},
		{"SIGNUP", "open", "open, or closed: email flows only sign in existing accounts", &c.Signup},
		{"SMTP_URL", "", "smtp://user:pass@host:port or smtps://…; empty: log and /dev/outbox", &c.SMTPURL},
		{"MAIL_FROM", "Sesame <no-reply@localhost>", "sender address", &c.MailFrom},
		{"SECRET", "", "root secret (base64, 32+ bytes); empty: generated into the data directory", &c.Secret},
		{"AUDIENCE", "", "access-token audience; empty: the public URL", &c.Audience},
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
	u, err := url.Parse(c.PublicURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") {
		return fmt.Errorf("public URL %q: want http(s)://host[:port] with no path", c.PublicURL)
	}
	c.PublicURL = u.Scheme + "://" + u.Host
	if c.Signup != "open" && c.Signup != "closed" {
		return fmt.Errorf("signup %q: want open or closed", c.Signup)
	}
	if c.Audience == "" {
		c.Audience = c.PublicURL
	}
	return nil
}

// isLocalhost reports whether the public URL is on this machine, where the
// development outbox may be served.
func (c *Config) isLocalhost() bool {
	u, _ := url.Parse(c.PublicURL)
	h := u.Hostname()
	return h == "localhost" || h == "127.0.0.1" || h == "::1"
}

