package mail

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// OutboxSize is how many messages the Outbox keeps.
const OutboxSize = 50

// OutboxEntry is a message in the Outbox and when it was sent.
type OutboxEntry struct {
	Message
	SentAt time.Time
}

// Outbox is the development sender, used when no SMTP server is configured:
// it keeps the last OutboxSize messages in memory for the /dev/outbox page
// and logs one line per message. It is safe for concurrent use.
//
// The log line names the recipient and subject only, never the body, which
// carries one-time codes and links (SECURITY rule 39): to read a message,
// open /dev/outbox.
type Outbox struct {
	log *slog.Logger
	now func() time.Time

	mu      sync.Mutex
	entries []OutboxEntry // oldest first, at most OutboxSize
}

var _ Sender = (*Outbox)(nil)

// NewOutbox returns an empty outbox that logs to log (nil discards).
func NewOutbox(log *slog.Logger) *Outbox {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Outbox{log: log, now: time.Now}
}

// Send keeps m, dropping the oldest message beyond OutboxSize, and logs its
// recipient and subject. It never fails.
func (o *Outbox) Send(ctx context.Context, m Message) error {
	o.mu.Lock()
	if len(o.entries) == OutboxSize {
		copy(o.entries, o.entries[1:])
		o.entries = o.entries[:OutboxSize-1]
	}
	o.entries = append(o.entries, OutboxEntry{Message: m, SentAt: o.now()})
	o.mu.Unlock()
	o.log.InfoContext(ctx, "mail kept in the dev outbox; open /dev/outbox to read it",
		"to", m.To, "subject", m.Subject)
	return nil
}

// Messages returns the kept messages, newest first.
func (o *Outbox) Messages() []OutboxEntry {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := make([]OutboxEntry, len(o.entries))
	for i, e := range o.entries {
		out[len(out)-1-i] = e
	}
	return out
}
