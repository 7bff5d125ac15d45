// Package mail delivers Sesame's email: over SMTP (NewSMTP), into the
// in-memory development outbox (NewOutbox) when no SMTP server is
// configured, and off the request path through a Queue, a durable outbox
// in the database that any instance's workers send from. It also renders
// the messages Sesame sends (SignIn, MFACode, Notice).
//
// Message bodies carry one-time codes and sign-in links, so nothing in this
// package logs a body; log lines name the recipient and subject only
// (SECURITY rule 39). Subjects must therefore never carry a secret.
package mail

import "context"

// Message is one email with a plain-text and an HTML body. Senders send it
// as multipart/alternative, or as plain text alone when HTML is empty.
type Message struct {
	// ID is the Message-ID without angle brackets ("id@domain"); the
	// same for every try of one queued message, so a receiver can drop a
	// duplicate. Empty lets the sender make one up.
	ID      string
	To      string // one bare address
	Subject string
	Text    string
	HTML    string
}

// Sender delivers a message. Implementations are safe for concurrent use.
type Sender interface {
	Send(ctx context.Context, m Message) error
}
