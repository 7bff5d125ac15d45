// Package mailparse decodes the mail Sesame sends (net/mail, multipart,
// quoted-printable and base64) and finds its sign-in code and link. The
// in-process SMTP server of the tests (internal/testsmtp) and the load
// tool's SMTP sink share it; it imports nothing of Sesame or of testing.
package mailparse

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"regexp"
	"strings"
)

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
	codeLine   = regexp.MustCompile(`(?m)^[ \t]*(\d{6})[ \t]*$`)
	codeAny    = regexp.MustCompile(`(?:^|[^\w\-#&;=/])(\d{6})(?:$|[^\w\-])`)
	linkTok    = regexp.MustCompile(`/auth/link#t=([^\s"'<>&]+)`)
	approveTok = regexp.MustCompile(`/approve#t=([^\s"'<>&]+)`)
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

// ExtractApprovalToken returns the token in the first approval link of the
// form "<base>/approve#t=<token>" in text, or "" if there is none.
func ExtractApprovalToken(text string) string {
	if m := approveTok.FindStringSubmatch(text); m != nil {
		return m[1]
	}
	return ""
}
