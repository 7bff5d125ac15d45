package mail

import "log/slog"

// NoticeCap is the Queue with a cap on notices: it passes drafts on but drops security notices that
// Allow refuses for their recipient, so that nobody can make Sesame mail
// one person without bound (SECURITY rule 57: at most 5 notices per user
// per hour). Other messages, asked for by the recipient, pass untouched,
// and so do messages queued with Prepare (sign-in and second-factor codes).
type NoticeCap struct {
	*Queue
	Allow func(to string) bool
	Log   *slog.Logger
}

// Enqueue queues d unless it is a notice over its recipient's cap.
func (c NoticeCap) Enqueue(d Draft) bool {
	if d.IsNotice() && !c.Allow(d.to) {
		if c.Log != nil {
			c.Log.Info("security notice not sent: the recipient had enough this hour", "template", d.template)
		}
		return false
	}
	return c.Queue.Enqueue(d)
}
