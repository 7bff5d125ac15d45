package mail

import (
	"strings"
	"testing"
	"time"

	"github.com/sesame-auth/sesame/internal/testsmtp"
)

func TestAccountNotices(t *testing.T) {
	d := NoticeData{Device: "Firefox on Linux", IP: "192.0.2.7", Time: time.Date(2026, 3, 4, 5, 6, 0, 0, time.UTC), AccountURL: "https://sesame.example/account"}
	tests := []struct {
		kind    NoticeKind
		subject string
		want    string
	}{
		{NoticeRecoveryCodeUsed, "A recovery code was used on your Sesame account", "Each code works once"},
		{NoticeRecoveryCodesCreated, "New recovery codes for your Sesame account", "stopped working"},
		{NoticeTOTPAdded, "An authenticator app was added to your Sesame account", "authenticator app was set up"},
		{NoticeTOTPRemoved, "The authenticator app was removed from your Sesame account", "was removed"},
		{NoticeEmailChanged, "The email address of your Sesame account was changed", "not to this one"},
		{NoticeEmailTaken, "Someone tried to use this address on Sesame", "nothing was changed"},
		{NoticeAccountDeleted, "Your Sesame account was deleted", "last message"},
	}
	if len(tests) != len(accountNoticeKinds) {
		t.Fatalf("%d kinds tested; want all %d", len(tests), len(accountNoticeKinds))
	}
	for _, tt := range tests {
		m := mustRender(t, Notice("carol@example.com", tt.kind, d))
		if m.Subject != tt.subject {
			t.Errorf("Notice(%s).Subject = %q; want %q", tt.kind, m.Subject, tt.subject)
		}
		for part, body := range map[string]string{"Text": m.Text, "HTML": m.HTML} {
			for _, w := range []string{tt.want, "192.0.2.7", "Wed, 4 Mar 2026 05:06 UTC"} {
				if !strings.Contains(body, w) {
					t.Errorf("Notice(%s).%s does not contain %q:\n%s", tt.kind, part, w, body)
				}
			}
		}
		if got := testsmtp.ExtractCode(m.Text); got != "" {
			t.Errorf("Notice(%s) carries something that looks like a code: %q", tt.kind, got)
		}
	}
}

func TestEmailChangeCode(t *testing.T) {
	m := mustRender(t, EmailChangeCode("new@example.com", "493817", 15))
	if m.To != "new@example.com" || !strings.Contains(m.Subject, "new Sesame email address") {
		t.Errorf("EmailChangeCode To, Subject = %q, %q", m.To, m.Subject)
	}
	if got := testsmtp.ExtractCode(m.Text); got != "493817" {
		t.Errorf("ExtractCode = %q; want 493817", got)
	}
	if !strings.Contains(m.HTML, "493817") || !strings.Contains(m.Text, "15 minutes") {
		t.Errorf("EmailChangeCode body:\n%s\n%s", m.Text, m.HTML)
	}
}
