package mail

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"net/url"
	"strconv"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// SMTPTimeout bounds the connection, the SMTP conversation and each Send.
const SMTPTimeout = 10 * time.Second

// SMTP sends mail through an SMTP server with github.com/wneessen/go-mail.
// It is safe for concurrent use: each Send opens its own connection with a
// client of its own, as go-mail's Client changes its own fields while it
// dials.
type SMTP struct {
	host string
	from string
	opts []gomail.Option
}

var _ Sender = (*SMTP)(nil)

// NewSMTP returns a sender for the server in rawURL, whose messages come
// from the address from ("noreply@example.com" or
// "Sesame <noreply@example.com>").
//
// rawURL is smtp://[user:pass@]host[:port] for STARTTLS when the server
// offers it and a plain connection otherwise (port 587 if none is given), or
// smtps://[user:pass@]host[:port] for implicit TLS (port 465). The user name
// and password must be URL-escaped. Credentials are never sent unencrypted,
// except to localhost: go-mail refuses PLAIN and LOGIN over a plain
// connection to any other host, so an smtp:// server that offers no
// STARTTLS can be used only without credentials.
//
// Errors never repeat the password.
func NewSMTP(rawURL, from string) (*SMTP, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		// url.Error repeats the URL, password and all: say less.
		return nil, errors.New("mail: the SMTP URL does not parse; write it as smtp://user:pass@host:port or smtps://…, URL-escaping the user name and password")
	}
	var port int
	opts := []gomail.Option{gomail.WithTimeout(SMTPTimeout)}
	switch u.Scheme {
	case "smtp":
		port = 587
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSOpportunistic))
	case "smtps":
		port = 465
		opts = append(opts, gomail.WithSSL())
	default:
		return nil, fmt.Errorf("mail: SMTP URL %s: scheme must be smtp or smtps", u.Redacted())
	}
	host := u.Hostname()
	if host == "" {
		return nil, fmt.Errorf("mail: SMTP URL %s: no host", u.Redacted())
	}
	if p := u.Port(); p != "" {
		port, err = strconv.Atoi(p)
		if err != nil || port < 1 || port > 65535 {
			return nil, fmt.Errorf("mail: SMTP URL %s: bad port %q", u.Redacted(), p)
		}
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		return nil, fmt.Errorf("mail: SMTP URL %s: want only user, password, host and port", u.Redacted())
	}
	opts = append(opts, gomail.WithPort(port))
	if u.User != nil {
		user := u.User.Username()
		pass, _ := u.User.Password()
		if user == "" {
			return nil, fmt.Errorf("mail: SMTP URL %s: a password without a user name", u.Redacted())
		}
		// Take the first mechanism both sides know from this list, else let
		// go-mail pick among those the server offers.
		opts = append(opts,
			gomail.WithOpportunisticSMTPAuth(gomail.SMTPAuthSCRAMSHA256, gomail.SMTPAuthPlain, gomail.SMTPAuthLogin),
			gomail.WithUsername(user), gomail.WithPassword(pass))
	}

	if strings.ContainsAny(from, "\r\n") {
		return nil, errors.New("mail: the From address contains a line break")
	}
	if _, err := mail.ParseAddress(from); err != nil {
		return nil, fmt.Errorf("mail: From address %q: %w", from, err)
	}
	if _, err := gomail.NewClient(host, opts...); err != nil {
		return nil, fmt.Errorf("mail: SMTP URL %s: %w", u.Redacted(), err)
	}
	return &SMTP{host: host, from: from, opts: opts}, nil
}

// Send delivers m over one new SMTP connection, within SMTPTimeout.
func (s *SMTP) Send(ctx context.Context, m Message) error {
	msg := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	if err := msg.From(s.from); err != nil {
		return fmt.Errorf("mail: From: %w", err)
	}
	if err := msg.To(m.To); err != nil {
		return fmt.Errorf("mail: To: %w", err)
	}
	msg.Subject(m.Subject)
	if m.ID != "" {
		msg.SetMessageIDWithValue(m.ID)
	}
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	if m.HTML != "" {
		msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	}

	c, err := gomail.NewClient(s.host, s.opts...)
	if err != nil {
		return fmt.Errorf("mail: SMTP client: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, SMTPTimeout)
	defer cancel()
	if err := c.DialAndSendWithContext(ctx, msg); err != nil {
		return fmt.Errorf("mail: send to %s: %w", m.To, err)
	}
	return nil
}
