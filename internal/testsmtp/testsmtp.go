// Package testsmtp runs a real SMTP server in-process for tests: mail sent to
// it is parsed (net/mail, mime/multipart, quoted-printable and base64
// decoded) and handed to the test that waits for it.
//
// The server speaks plain SMTP on 127.0.0.1 without TLS, and accepts AUTH
// PLAIN with any credentials over the unencrypted connection, so a client can
// send with or without a user name and password.
package testsmtp

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// WaitTimeout is how long Wait waits for a message before failing the test.
const WaitTimeout = 10 * time.Second

// Message is one message the server received, decoded.
type Message struct {
	// From is the bare address in the From header ("a@example.com", without
	// a display name).
	From string
	// To holds the envelope recipients (RCPT TO), in the order given.
	To []string
	// Subject is the Subject header, RFC 2047 words decoded.
	Subject string
	// Text and HTML are the first text/plain and text/html parts (or the
	// whole body when it is not multipart), transfer-decoded, with CRLF
	// line endings turned into "\n".
	Text, HTML string
	// AuthUser is the user name given with AUTH PLAIN, or "" if the client
	// did not authenticate.
	AuthUser string
	// MessageID is the Message-ID header, angle brackets included.
	MessageID string
	// Raw is the message exactly as received in DATA.
	Raw []byte
}

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
func Parse(raw []byte) (Message, error) {
	m := Message{Raw: raw}
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return m, fmt.Errorf("read message: %w", err)
	}
	m.MessageID = msg.Header.Get("Message-ID")
	var dec mime.WordDecoder
	if m.Subject, err = dec.DecodeHeader(msg.Header.Get("Subject")); err != nil {
		return m, fmt.Errorf("decode subject: %w", err)
	}
	if from := msg.Header.Get("From"); from != "" {
		addr, err := mail.ParseAddress(from)
		if err != nil {
			return m, fmt.Errorf("parse From: %w", err)
		}
		m.From = addr.Address
	}
	err = walk(msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), msg.Body, &m)
	return m, err
}

// walk reads one MIME entity, descending into multipart ones, and fills
// m.Text and m.HTML from the first text/plain and text/html leaves.
func walk(contentType, encoding string, body io.Reader, m *Message) error {
	if contentType == "" {
		contentType = "text/plain"
	}
	mediaType, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return fmt.Errorf("parse Content-Type %q: %w", contentType, err)
	}
	if strings.HasPrefix(mediaType, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			// NextRawPart, not NextPart: NextPart decodes quoted-printable
			// itself and drops the header, which would hide what we decode.
			p, err := mr.NextRawPart()
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				return fmt.Errorf("read %s part: %w", mediaType, err)
			}
			if err := walk(p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p, m); err != nil {
				return err
			}
		}
	}
	var r io.Reader
	switch strings.ToLower(strings.TrimSpace(encoding)) {
	case "quoted-printable":
		r = quotedprintable.NewReader(body)
	case "base64":
		r = base64.NewDecoder(base64.StdEncoding, &newlineSkipper{r: body})
	case "", "7bit", "8bit", "binary":
		r = body
	default:
		return fmt.Errorf("unknown Content-Transfer-Encoding %q", encoding)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return fmt.Errorf("decode %s (%s): %w", mediaType, encoding, err)
	}
	text := strings.ReplaceAll(string(b), "\r\n", "\n")
	switch {
	case mediaType == "text/plain" && m.Text == "":
		m.Text = text
	case mediaType == "text/html" && m.HTML == "":
		m.HTML = text
	}
	return nil
}

// newlineSkipper drops CR and LF, which base64 bodies wrap with.
type newlineSkipper struct{ r io.Reader }

func (n *newlineSkipper) Read(p []byte) (int, error) {
	for {
		k, err := n.r.Read(p)
		j := 0
		for _, c := range p[:k] {
			if c != '\r' && c != '\n' {
				p[j] = c
				j++
			}
		}
		if j > 0 || err != nil {
			return j, err
		}
	}
}

var (
	codeLine = regexp.MustCompile(`(?m)^[ \t]*(\d{6})[ \t]*$`)
	codeAny  = regexp.MustCompile(`(?:^|[^\w\-#&;=/])(\d{6})(?:$|[^\w\-])`)
	linkTok  = regexp.MustCompile(`/auth/link#t=([^\s"'<>&]+)`)
)

// ExtractCode returns the 6-digit code in a message's text: a line that
// holds only six digits if there is one, else the first run of exactly six
// digits standing on its own. It returns "" if there is none.
func ExtractCode(text string) string {
	if m := codeLine.FindStringSubmatch(text); m != nil {
		return m[1]
	}
	if m := codeAny.FindStringSubmatch(text); m != nil {
		return m[1]
	}
	return ""
}

// ExtractLinkToken returns the token in the first sign-in link of the form
// "<base>/auth/link#t=<token>" in text, or "" if there is none.
func ExtractLinkToken(text string) string {
	if m := linkTok.FindStringSubmatch(text); m != nil {
		return m[1]
	}
	return ""
}
