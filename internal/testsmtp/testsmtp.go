// Package testsmtp runs a real SMTP server in-process for tests: mail sent to
// it is parsed (net/mail, mime/multipart, quoted-printable and base64
// decoded) and handed to the test that waits for it.
//
// The server speaks plain SMTP on 127.0.0.1 without TLS, and accepts AUTH
// PLAIN with any credentials over the unencrypted connection, so a client can
// send with or without a user name and password.
package testsmtp

import (
	"io"
	"log"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/sesame-auth/sesame/internal/mailparse"
)

// WaitTimeout is how long Wait waits for a message before failing the test.
const WaitTimeout = 10 * time.Second

// Message is one message the server received, decoded (mailparse).
type Message = mailparse.Message

// Server is an SMTP server listening on 127.0.0.1. Its methods are safe for
// concurrent use.
type Server struct {
	srv  *smtp.Server
	ln   net.Listener
	done chan struct{} // closed when Serve returns

	mu          sync.Mutex
	refuseUntil time.Time // connections before this are closed at once
	refused     int
	msgs        []Message
	next        map[string]int // per lower-cased recipient: how many messages Wait has taken
	arrived     chan struct{}  // closed and replaced whenever a message arrives
}

// Start starts a server on 127.0.0.1 with a free port and closes it when the
// test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("testsmtp: listen: %v", err)
	}
	s := &Server{
		ln:      ln,
		done:    make(chan struct{}),
		next:    make(map[string]int),
		arrived: make(chan struct{}),
	}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) {
		return &session{server: s}, nil
	}))
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = true
	srv.MaxMessageBytes = 10 << 20
	srv.MaxRecipients = 100
	srv.ReadTimeout = 10 * time.Second
	srv.WriteTimeout = 10 * time.Second
	srv.ErrorLog = log.New(io.Discard, "", 0)
	s.srv = srv
	go func() {
		defer close(s.done)
		_ = srv.Serve(&refusingListener{Listener: ln, s: s}) // returns smtp.ErrServerClosed after Close
	}()
	t.Cleanup(func() {
		_ = srv.Close()
		// go-smtp's Close closes only the listeners Serve has registered:
		// if the Serve goroutine has not run yet, ours would stay open and
		// Serve would accept forever. Close it here too.
		_ = ln.Close()
		<-s.done
	})
	return s
}

// RefuseFor makes the server drop every connection for d from now, before
// its greeting, as a relay that is down: clients get an error at once.
func (s *Server) RefuseFor(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refuseUntil = time.Now().Add(d)
}

// Refused returns how many connections the server dropped.
func (s *Server) Refused() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refused
}

// refusing reports whether a connection now is to be dropped, counting it.
func (s *Server) refusing() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if time.Now().Before(s.refuseUntil) {
		s.refused++
		return true
	}
	return false
}

// refusingListener closes the connections that arrive while its server
// refuses them, and hands the others on.
type refusingListener struct {
	net.Listener
	s *Server
}

func (l *refusingListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil || !l.s.refusing() {
			return c, err
		}
		c.Close()
	}
}

// Addr returns the host:port the server listens on.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// URL returns "smtp://127.0.0.1:PORT", the form mail.NewSMTP takes.
func (s *Server) URL() string { return "smtp://" + s.Addr() }

// Messages returns every message received so far, oldest first.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Message, len(s.msgs))
	copy(out, s.msgs)
	return out
}

// Count returns how many messages the server has received.
func (s *Server) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.msgs)
}

// Wait returns the next message for recipient to (compared
// case-insensitively) that no earlier Wait for the same recipient returned,
// waiting up to WaitTimeout for it to arrive before failing the test. Call
// it from the test's goroutine.
func (s *Server) Wait(t testing.TB, to string) Message {
	t.Helper()
	key := strings.ToLower(to)
	timer := time.NewTimer(WaitTimeout)
	defer timer.Stop()
	for {
		s.mu.Lock()
		seen := 0
		for _, m := range s.msgs {
			if !hasRecipient(m, key) {
				continue
			}
			if seen == s.next[key] {
				s.next[key]++
				s.mu.Unlock()
				return m
			}
			seen++
		}
		arrived := s.arrived
		s.mu.Unlock()

		select {
		case <-arrived:
		case <-timer.C:
			t.Fatalf("testsmtp: no message for %s within %v (%d received in all)", to, WaitTimeout, s.Count())
			return Message{}
		}
	}
}

func hasRecipient(m Message, key string) bool {
	for _, r := range m.To {
		if strings.ToLower(r) == key {
			return true
		}
	}
	return false
}

func (s *Server) add(m Message) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.msgs = append(s.msgs, m)
	close(s.arrived)
	s.arrived = make(chan struct{})
}

// session is one SMTP connection's state.
type session struct {
	server   *Server
	authUser string
	to       []string
}

var _ smtp.AuthSession = (*session)(nil)

func (s *session) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, username, _ string) error {
		s.authUser = username
		return nil
	}), nil
}

func (s *session) Mail(string, *smtp.MailOptions) error { return nil }

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = append(s.to, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	m, err := Parse(raw)
	if err != nil {
		return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: "testsmtp: " + err.Error()}
	}
	m.To = append([]string(nil), s.to...)
	m.AuthUser = s.authUser
	s.server.add(m)
	return nil
}

func (s *session) Reset() { s.to = nil }

func (s *session) Logout() error { return nil }

// Parse decodes a raw RFC 5322 message into a Message, leaving To and
// AuthUser empty (they come from the SMTP envelope).
func Parse(raw []byte) (Message, error) { return mailparse.Parse(raw) }

// ExtractCode returns the 6-digit code in a message's text, or "".
func ExtractCode(text string) string { return mailparse.ExtractCode(text) }

// ExtractLinkToken returns the token of the first sign-in link in text,
// or "".
func ExtractLinkToken(text string) string { return mailparse.ExtractLinkToken(text) }
