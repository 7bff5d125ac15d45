package sesame

import "time"

// QueuedMail is one message in the durable mail outbox, as stored. Payload
// is the sealed draft (mail.Queue seals and opens it): it carries sign-in
// links and codes, so it is encrypted at rest and wiped once the message
// is sent or given up.
type QueuedMail struct {
	ID        string // stable across retries: the local part of the Message-ID
	Recipient string // for logs and operators; never a secret
	Payload   []byte
	Attempts  int // claims so far, the current one included
	CreatedAt time.Time
	NextAt    time.Time // not tried before this
	ExpiresAt time.Time // given up then: the message is of no use after
}

// What became of a queued mail (mail_outbox.status).
const (
	MailQueued  = "queued"
	MailSent    = "sent"
	MailExpired = "expired" // not delivered while it was of use
	MailFailed  = "failed"  // could not be rendered or opened: a bug, never retried
)
