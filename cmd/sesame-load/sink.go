package main

import (
	"context"
	"errors"
	"io"
	"log"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/sesame-auth/sesame/internal/mailparse"
)

// errNoMail is a code that did not arrive in time.
var errNoMail = errors.New("no mail")

// codes hands out the one-time codes mailed to an address.
type codes interface {
	// Forget drops codes for email not yet taken, before a new flow.
	Forget(email string)
	// Code waits for the next code mailed to email.
	Code(ctx context.Context, email string) (string, error)
}

// mailbox keeps the codes that arrived, per lower-cased address, until
// taken. Safe for concurrent use.
type mailbox struct {
	mu      sync.Mutex
	codes   map[string][]string
	arrived chan struct{} // closed and replaced whenever a code arrives
}

func newMailbox() *mailbox {
	return &mailbox{codes: map[string][]string{}, arrived: make(chan struct{})}
}

func (m *mailbox) put(to, code string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	key := strings.ToLower(to)
	m.codes[key] = append(m.codes[key], code)
	close(m.arrived)
	m.arrived = make(chan struct{})
}

func (m *mailbox) Forget(email string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.codes, strings.ToLower(email))
}

func (m *mailbox) Code(ctx context.Context, email string) (string, error) {
	key := strings.ToLower(email)
	for {
		m.mu.Lock()
		if q := m.codes[key]; len(q) > 0 {
			code := q[0]
			if len(q) == 1 {
				delete(m.codes, key)
			} else {
				m.codes[key] = q[1:]
			}
			m.mu.Unlock()
			return code, nil
		}
		arrived := m.arrived
		m.mu.Unlock()
		select {
		case <-arrived:
		case <-ctx.Done():
			return "", errNoMail
		}
	}
}

// sink is an SMTP server that keeps the codes of sign-in and second-factor
// mail and drops everything else (notices).
type sink struct {
	*mailbox
	srv *smtp.Server
	ln  net.Listener
}

// listenSink starts a sink on addr (host:port).
func listenSink(addr string) (*sink, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s := &sink{mailbox: newMailbox(), ln: ln}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) {
		return &sinkSession{sink: s}, nil
	}))
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = true
	srv.MaxMessageBytes = 1 << 20
	srv.MaxRecipients = 10
	srv.ReadTimeout = 30 * time.Second
	srv.WriteTimeout = 30 * time.Second
	srv.ErrorLog = log.New(io.Discard, "", 0)
	s.srv = srv
	go func() { _ = srv.Serve(ln) }()
	return s, nil
}

// Addr is where the sink listens.
func (s *sink) Addr() string { return s.ln.Addr().String() }

func (s *sink) Close() error {
	err := s.srv.Close()
	_ = s.ln.Close()
	return err
}

type sinkSession struct {
	sink *sink
	to   []string
}

func (s *sinkSession) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *sinkSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(string, string, string) error { return nil }), nil
}

func (s *sinkSession) Mail(string, *smtp.MailOptions) error { return nil }

func (s *sinkSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = append(s.to, to)
	return nil
}

func (s *sinkSession) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	m, err := mailparse.Parse(raw)
	if err != nil {
		return nil // not ours to judge; drop it
	}
	// A sign-in message carries a link; a second-factor one says
	// "verification code". Notices carry neither, and no code.
	if mailparse.ExtractLinkToken(m.Text) == "" && !strings.Contains(m.Subject, "verification code") {
		return nil
	}
	if code := mailparse.ExtractCode(m.Text); code != "" {
		for _, to := range s.to {
			s.sink.put(to, code)
		}
	}
	return nil
}

func (s *sinkSession) Reset() { s.to = nil }

func (s *sinkSession) Logout() error { return nil }
