// Package mail delivers Sesame's email: over SMTP (NewSMTP), into the
// in-memory development outbox (NewOutbox) when no SMTP server is
// configured, and off the request path through a Queue. It also renders the
// messages Sesame sends (SignIn, MFACode, Notice).
//
// Message bodies carry one-time codes and sign-in links, so nothing in this
// package logs a body; log lines name the recipient and subject only
// (SECURITY rule 39). Subjects must therefore never carry a secret.
package mail

import "context"

// Message is one email with a plain-text and an HTML body. Senders send it
// as multipart/alternative, or as plain text alone when HTML is empty.
type Message struct {
	To      string // one bare address
	Subject string
	Text    string
	HTML    string
}

// Sender delivers a message. Implementations are safe for concurrent use.
type Sender interface {
	Send(ctx context.Context, m Message) error
}
