package testsmtp

import (
	"net/smtp"
	"strings"
	"testing"
)

// multipartMessage is a multipart/alternative message with a
// quoted-printable text part and a base64 HTML part, as mail clients send.
const multipartMessage = "From: =?UTF-8?q?S=C3=A9same?= <noreply@example.com>\r\n" +
	"To: alice@example.com\r\n" +
	"Subject: =?UTF-8?q?Caf=C3=A9_sign-in?=\r\n" +
	"MIME-Version: 1.0\r\n" +
	"Content-Type: multipart/alternative; boundary=\"b1\"\r\n" +
	"\r\n" +
	"--b1\r\n" +
	"Content-Type: text/plain; charset=UTF-8\r\n" +
	"Content-Transfer-Encoding: quoted-printable\r\n" +
	"\r\n" +
	"Open https://sesame.example/auth/link#t=3DAbC-_123 or enter\r\n" +
	"\r\n" +
	"    123456\r\n" +
	"\r\n" +
	"A long line that quoted-printable wraps with a soft line break right he=\r\n" +
	"re. Caf=C3=A9.\r\n" +
	"--b1\r\n" +
	"Content-Type: text/html; charset=UTF-8\r\n" +
	"Content-Transfer-Encoding: base64\r\n" +
	"\r\n" +
	"PHA+Q29kZTogPHN0cm9uZz4xMjM0NTY8L3N0\r\n" +
	"cm9uZz48L3A+\r\n" +
	"--b1--\r\n"

func TestServerReceivesParsedMessage(t *testing.T) {
	s := Start(t)
	auth := smtp.PlainAuth("", "user", "secret", "127.0.0.1")
	if err := smtp.SendMail(s.Addr(), auth, "bounce@example.com", []string{"alice@example.com", "bob@example.com"}, []byte(multipartMessage)); err != nil {
		t.Fatalf("SendMail: %v", err)
	}

	m := s.Wait(t, "Alice@Example.com")
	checks := []struct{ name, got, want string }{
		{"From", m.From, "noreply@example.com"},
		{"Subject", m.Subject, "Café sign-in"},
		{"To", strings.Join(m.To, ","), "alice@example.com,bob@example.com"},
		{"AuthUser", m.AuthUser, "user"},
		{"HTML", m.HTML, "<p>Code: <strong>123456</strong></p>"},
		{"ExtractCode(Text)", ExtractCode(m.Text), "123456"},
		{"ExtractLinkToken(Text)", ExtractLinkToken(m.Text), "AbC-_123"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %q; want %q", c.name, c.got, c.want)
		}
	}
	if want := "soft line break right here. Café."; !strings.HasSuffix(m.Text, want) {
		t.Errorf("Text = %q; want suffix %q", m.Text, want)
	}
	if strings.Contains(m.Text, "\r") {
		t.Errorf("Text = %q; want LF line endings", m.Text)
	}
	if !strings.Contains(string(m.Raw), "quoted-printable") {
		t.Errorf("Raw does not hold the message as sent: %q", m.Raw)
	}
	// The same message, waited for by its other recipient.
	if got := s.Wait(t, "bob@example.com").Subject; got != "Café sign-in" {
		t.Errorf("Wait(bob).Subject = %q; want %q", got, "Café sign-in")
	}
}

func TestWaitTakesEachMessageOnce(t *testing.T) {
	s := Start(t)
	for _, subject := range []string{"first", "second"} {
		msg := "From: a@example.com\r\nTo: c@example.com\r\nSubject: " + subject + "\r\n\r\nbody\r\n"
		if err := smtp.SendMail(s.Addr(), nil, "a@example.com", []string{"c@example.com"}, []byte(msg)); err != nil {
			t.Fatalf("SendMail: %v", err)
		}
	}
	for _, want := range []string{"first", "second"} {
		m := s.Wait(t, "c@example.com")
		if m.Subject != want {
			t.Errorf("Wait().Subject = %q; want %q", m.Subject, want)
		}
		if m.Text != "body\n" || m.AuthUser != "" {
			t.Errorf("Wait() = Text %q, AuthUser %q; want %q, %q", m.Text, m.AuthUser, "body\n", "")
		}
	}
	if got := s.Count(); got != 2 {
		t.Errorf("Count() = %d; want 2", got)
	}
	if got := len(s.Messages()); got != 2 {
		t.Errorf("len(Messages()) = %d; want 2", got)
	}
	if got, want := s.URL(), "smtp://"+s.Addr(); got != want {
		t.Errorf("URL() = %q; want %q", got, want)
	}
}

func TestWaitSeesLaterMessage(t *testing.T) {
	s := Start(t)
	go func() {
		msg := "From: a@example.com\r\nSubject: late\r\n\r\nhi\r\n"
		_ = smtp.SendMail(s.Addr(), nil, "a@example.com", []string{"d@example.com"}, []byte(msg))
	}()
	if got := s.Wait(t, "d@example.com").Subject; got != "late" {
		t.Errorf("Wait().Subject = %q; want %q", got, "late")
	}
}

func TestExtractCode(t *testing.T) {
	tests := []struct{ text, want string }{
		{"Your code:\n\n    123456\n\nIt expires in 15 minutes.", "123456"},
		{"Open https://x.example/auth/link#t=ab-123456-cd\n\n  654321\n", "654321"},
		{"Your code is 987654.", "987654"},
		{"<p style=\"color:#111111\">Code <b>246810</b></p>", "246810"},
		{"no code 12345 or 1234567", ""},
	}
	for _, tt := range tests {
		if got := ExtractCode(tt.text); got != tt.want {
			t.Errorf("ExtractCode(%q) = %q; want %q", tt.text, got, tt.want)
		}
	}
}

func TestExtractLinkToken(t *testing.T) {
	tests := []struct{ text, want string }{
		{"Open this link:\nhttps://sesame.example/auth/link#t=Zm9v_YmFy-12\n", "Zm9v_YmFy-12"},
		{`<a href="https://sesame.example/base/auth/link#t=tok">https://…</a>`, "tok"},
		{"https://sesame.example/auth/link?t=query", ""},
		{"nothing here", ""},
	}
	for _, tt := range tests {
		if got := ExtractLinkToken(tt.text); got != tt.want {
			t.Errorf("ExtractLinkToken(%q) = %q; want %q", tt.text, got, tt.want)
		}
	}
}
