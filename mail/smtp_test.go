package mail

import (
	"context"
	"net"
	"strings"
	"testing"

	"github.com/sesame-auth/sesame/internal/testsmtp"
)

func TestNewSMTPValidates(t *testing.T) {
	tests := []struct {
		name, url, from string
		wantErr         string // "" for success
	}{
		{"plain", "smtp://mail.example:2525", "noreply@example.com", ""},
		{"credentials", "smtp://user%40x:p%2Fss@mail.example", "Sesame <noreply@example.com>", ""},
		{"implicit TLS", "smtps://user:pass@mail.example", "noreply@example.com", ""},
		{"trailing slash", "smtp://mail.example/", "noreply@example.com", ""},
		{"scheme", "http://mail.example", "noreply@example.com", "scheme"},
		{"no host", "smtp://:25", "noreply@example.com", "no host"},
		{"bad port", "smtp://mail.example:99999", "noreply@example.com", "port"},
		{"path", "smtp://mail.example/x", "noreply@example.com", "only user"},
		{"query", "smtp://mail.example?tls=no", "noreply@example.com", "only user"},
		{"password, no user", "smtp://:hunter2@mail.example", "noreply@example.com", "without a user"},
		{"unparsable", "smtp://u:hunter2%zz@mail.example", "noreply@example.com", "does not parse"},
		{"bad From", "smtp://mail.example", "not an address", "From"},
		{"From with line break", "smtp://mail.example", "a@example.com\r\nBcc: b@example.com", "line break"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewSMTP(tt.url, tt.from)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("NewSMTP(%q, %q) = %v; want no error", tt.url, tt.from, err)
			case tt.wantErr != "" && err == nil:
				t.Fatalf("NewSMTP(%q, %q) succeeded; want an error about %q", tt.url, tt.from, tt.wantErr)
			case err != nil && !strings.Contains(err.Error(), tt.wantErr):
				t.Errorf("NewSMTP(%q, %q) = %v; want an error about %q", tt.url, tt.from, err, tt.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), "hunter2") {
				t.Errorf("NewSMTP error repeats the password: %v", err)
			}
		})
	}
}

func TestSMTPSendsThroughServer(t *testing.T) {
	tests := []struct {
		name, userinfo, wantAuthUser string
	}{
		{"without credentials", "", ""},
		{"with credentials", "mailer%40example.com:s3cr%2Ft@", "mailer@example.com"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := testsmtp.Start(t)
			s, err := NewSMTP("smtp://"+tt.userinfo+srv.Addr(), "Sesame <noreply@sesame.example>")
			if err != nil {
				t.Fatal(err)
			}
			want := mustRender(t, SignIn(SignInData{To: "dana@example.com", Link: testLink, Code: testCode, ExpiresInMinutes: 15}))
			want.Subject = "Café: sign in to Sesame"
			if err := s.Send(context.Background(), want); err != nil {
				t.Fatalf("Send: %v", err)
			}

			got := srv.Wait(t, "dana@example.com")
			checks := []struct{ field, got, want string }{
				{"From", got.From, "noreply@sesame.example"},
				{"To", strings.Join(got.To, ","), "dana@example.com"},
				{"Subject", got.Subject, want.Subject},
				{"Text", got.Text, want.Text},
				{"HTML", got.HTML, want.HTML},
				{"AuthUser", got.AuthUser, tt.wantAuthUser},
				{"ExtractCode(Text)", testsmtp.ExtractCode(got.Text), testCode},
				{"ExtractLinkToken(Text)", testsmtp.ExtractLinkToken(got.Text), "Zm9vYmFy_-baz"},
			}
			for _, c := range checks {
				if c.got != c.want {
					t.Errorf("received %s = %q; want %q", c.field, c.got, c.want)
				}
			}
			if raw := string(got.Raw); !strings.Contains(raw, "multipart/alternative") {
				t.Errorf("message is not multipart/alternative:\n%s", raw)
			}
		})
	}
}

func TestSMTPSubjectCannotAddHeaders(t *testing.T) {
	srv := testsmtp.Start(t)
	s, err := NewSMTP(srv.URL(), "noreply@sesame.example")
	if err != nil {
		t.Fatal(err)
	}
	m := Message{To: "erin@example.com", Subject: "Hi\r\nBcc: mallory@example.com", Text: "hello"}
	if err := s.Send(context.Background(), m); err != nil {
		t.Fatalf("Send: %v", err)
	}
	got := srv.Wait(t, "erin@example.com")
	if strings.Contains(string(got.Raw), "\nBcc:") {
		t.Errorf("the subject added a header:\n%s", got.Raw)
	}
	// A body that is not multipart ends with the line break SMTP requires.
	if got.Text != "hello\n" || got.HTML != "" {
		t.Errorf("received Text, HTML = %q, %q; want %q, %q", got.Text, got.HTML, "hello\n", "")
	}
}

func TestSMTPSendFails(t *testing.T) {
	// A port nothing listens on: take one, then close it.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()

	s, err := NewSMTP("smtp://"+addr, "noreply@sesame.example")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Send(context.Background(), Message{To: "a@example.com", Subject: "x", Text: "x"}); err == nil {
		t.Error("Send to a closed port succeeded")
	}

	srv := testsmtp.Start(t)
	s, err = NewSMTP(srv.URL(), "noreply@sesame.example")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Send(context.Background(), Message{To: "not an address", Subject: "x", Text: "x"}); err == nil {
		t.Error("Send to a bad address succeeded")
	}
}
