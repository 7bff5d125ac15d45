package mail

import (
	"strings"
	"testing"
	"time"

	"github.com/sesame-auth/sesame/internal/testsmtp"
)

const (
	testLink = "https://sesame.example/auth/link#t=Zm9vYmFy_-baz"
	testCode = "042917"
)

func TestSignInCarriesLinkAndCode(t *testing.T) {
	tests := []struct {
		name        string
		newAccount  bool
		language    string
		wantSubject string
		wantWords   []string
	}{
		{"existing account", false, "", "Sign in to Sesame", []string{"To sign in", "15 minutes", "ignore this email"}},
		{"new account", true, "", "Finish creating your Sesame account", []string{"create your account", "15 minutes", "ignore this email"}},
		{"existing account, ja", false, "ja", "Sesame にサインイン", []string{"サインインするには", "有効期限は15分", "無視してください"}},
		{"new account, ja", true, "ja", "Sesame アカウントの作成を完了してください", []string{"アカウントを作成", "有効期限は15分"}},
		{"a language without mails", false, "fr", "Sign in to Sesame", []string{"To sign in", "15 minutes"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := mustRender(t, SignIn(SignInData{To: "alice@example.com", Link: testLink, Code: testCode, ExpiresInMinutes: 15, IsNewAccount: tt.newAccount, Language: tt.language}))
			if m.To != "alice@example.com" || m.Subject != tt.wantSubject {
				t.Errorf("SignIn() To, Subject = %q, %q; want %q, %q", m.To, m.Subject, "alice@example.com", tt.wantSubject)
			}
			for part, body := range map[string]string{"Text": m.Text, "HTML": m.HTML} {
				for _, want := range append([]string{testLink, testCode}, tt.wantWords...) {
					if !strings.Contains(body, want) {
						t.Errorf("SignIn().%s does not contain %q:\n%s", part, want, body)
					}
				}
			}
			if got := testsmtp.ExtractCode(m.Text); got != testCode {
				t.Errorf("ExtractCode(Text) = %q; want %q", got, testCode)
			}
			if got := testsmtp.ExtractLinkToken(m.Text); got != "Zm9vYmFy_-baz" {
				t.Errorf("ExtractLinkToken(Text) = %q; want %q", got, "Zm9vYmFy_-baz")
			}
			if !strings.Contains(m.HTML, `href="`+testLink+`"`) {
				t.Errorf("SignIn().HTML has no link to %q:\n%s", testLink, m.HTML)
			}
		})
	}
}

func TestMFACode(t *testing.T) {
	m := mustRender(t, MFACode("bob@example.com", testCode, 10))
	if m.To != "bob@example.com" || m.Subject != "Your Sesame verification code" {
		t.Errorf("MFACode() To, Subject = %q, %q", m.To, m.Subject)
	}
	for part, body := range map[string]string{"Text": m.Text, "HTML": m.HTML} {
		for _, want := range []string{testCode, "10 minutes"} {
			if !strings.Contains(body, want) {
				t.Errorf("MFACode().%s does not contain %q:\n%s", part, want, body)
			}
		}
	}
	if got := testsmtp.ExtractCode(m.Text); got != testCode {
		t.Errorf("ExtractCode(Text) = %q; want %q", got, testCode)
	}
}

func TestNotices(t *testing.T) {
	when := time.Date(2026, 3, 4, 5, 6, 0, 0, time.FixedZone("CET", 3600))
	d := NoticeData{PasskeyName: "YubiKey 5", Device: "Firefox on Linux", IP: "192.0.2.7", Time: when, AccountURL: "https://sesame.example/account"}
	tests := []struct {
		kind    NoticeKind
		subject string
		want    []string
	}{
		{NoticePasskeyAdded, "A passkey was added to your Sesame account", []string{"YubiKey 5"}},
		{NoticePasswordSet, "A password was set on your Sesame account", []string{"password was set"}},
		{NoticePasswordChanged, "Your Sesame password was changed", []string{"was changed"}},
		{NoticePasswordRemoved, "The password was removed from your Sesame account", []string{"removed"}},
		{NoticeRefreshTokenReused, "We ended a Sesame session to protect your account", []string{"used twice", "ended that session"}},
		{NoticeNewDevice, "New sign-in to your Sesame account", []string{"new device", "Firefox on Linux"}},
		{NoticeNoAccount, "Sign-in attempt to Sesame", []string{"has no account"}},
	}
	if len(tests) != len(noticeKinds) {
		t.Fatalf("%d kinds tested; want all %d", len(tests), len(noticeKinds))
	}
	for _, tt := range tests {
		t.Run(string(tt.kind), func(t *testing.T) {
			m := mustRender(t, Notice("carol@example.com", tt.kind, d))
			if m.To != "carol@example.com" || m.Subject != tt.subject {
				t.Errorf("Notice(%s) To, Subject = %q, %q; want %q, %q", tt.kind, m.To, m.Subject, "carol@example.com", tt.subject)
			}
			want := append(tt.want, "Wed, 4 Mar 2026 04:06 UTC", "192.0.2.7")
			if tt.kind != NoticeNoAccount { // there is no account to review
				want = append(want, "https://sesame.example/account")
			}
			for part, body := range map[string]string{"Text": m.Text, "HTML": m.HTML} {
				for _, w := range want {
					if !strings.Contains(body, w) {
						t.Errorf("Notice(%s).%s does not contain %q:\n%s", tt.kind, part, w, body)
					}
				}
			}
			// With no details, the message still reads cleanly.
			bare := mustRender(t, Notice("carol@example.com", tt.kind, NoticeData{}))
			if strings.Contains(bare.Text, "\n\n\n") || strings.Contains(bare.Text, "When:") {
				t.Errorf("Notice(%s, no data).Text:\n%s", tt.kind, bare.Text)
			}
		})
	}
}

func TestNoticeUnknownKindFailsToRender(t *testing.T) {
	if _, err := Notice("a@example.com", NoticeKind("nope"), NoticeData{}).Render(); err == nil || !strings.Contains(err.Error(), "notice_nope") {
		t.Errorf("Render(unknown kind) = %v; want an error naming it", err)
	}
}

// TestDraftsSurviveStorage: every kind of draft, encoded for the outbox and
// decoded, renders exactly as before.
func TestDraftsSurviveStorage(t *testing.T) {
	drafts := []Draft{
		SignIn(SignInData{To: "a@example.com", Link: testLink, Code: testCode, ExpiresInMinutes: 15, IsNewAccount: true}),
		MFACode("a@example.com", testCode, 10),
	}
	for _, k := range noticeKinds {
		drafts = append(drafts, Notice("a@example.com", k, NoticeData{PasskeyName: "Key", Device: "Firefox", IP: "192.0.2.1", Time: time.Unix(1e9, 0), AccountURL: "https://s.example/account"}))
	}
	for _, d := range drafts {
		b, err := d.encode()
		if err != nil {
			t.Fatal(err)
		}
		back, err := decodeDraft(b)
		if err != nil {
			t.Fatalf("%s: %v", d.template, err)
		}
		if want, got := mustRender(t, d), mustRender(t, back); want != got {
			t.Errorf("%s: rendered %+v after storage; want %+v", d.template, got, want)
		}
	}
	for _, bad := range []string{`{`, `{"template":"nope","to":"a@example.com","data":{}}`, `{"template":"signin","data":"x"}`} {
		if _, err := decodeDraft([]byte(bad)); err == nil {
			t.Errorf("decodeDraft(%s) succeeded", bad)
		}
	}
}

// TestEveryTemplateDecodes: a draft of every template the package has can
// be read back from the outbox, so a template added without its decoding
// cannot fail every message of its kind in the workers.
func TestEveryTemplateDecodes(t *testing.T) {
	for name := range templates {
		if strings.Contains(name, "@") { // a translation of another
			continue
		}
		if _, err := decodeDraft([]byte(`{"template":"` + name + `","to":"a@example.com","data":{}}`)); err != nil {
			t.Errorf("a %s draft does not decode: %v", name, err)
		}
	}
}

func mustRender(t testing.TB, d Draft) Message {
	t.Helper()
	m, err := d.Render()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestTemplatesEscapeHTML(t *testing.T) {
	const evil = `<img src=x onerror="alert(1)">`
	tests := []struct {
		name string
		m    Draft
	}{
		{"passkey name", Notice("a@example.com", NoticePasskeyAdded, NoticeData{PasskeyName: evil})},
		{"device", Notice("a@example.com", NoticeNewDevice, NoticeData{Device: evil})},
		{"code", MFACode("a@example.com", evil, 5)},
		{"link", SignIn(SignInData{To: "a@example.com", Link: "https://sesame.example/auth/link#t=" + evil, Code: evil, ExpiresInMinutes: 15})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := mustRender(t, tt.m)
			if strings.Contains(m.HTML, "<img") || strings.Contains(m.HTML, `onerror="`) {
				t.Errorf("HTML holds the markup unescaped:\n%s", m.HTML)
			}
			if !strings.Contains(m.HTML, "&lt;img") {
				t.Errorf("HTML lacks the escaped markup:\n%s", m.HTML)
			}
		})
	}

	m := mustRender(t, SignIn(SignInData{To: "a@example.com", Link: "javascript:alert(1)", Code: testCode, ExpiresInMinutes: 15}))
	if strings.Contains(m.HTML, `href="javascript:`) {
		t.Errorf("HTML links to a javascript: URL:\n%s", m.HTML)
	}
}

func TestNoticeCleansUserText(t *testing.T) {
	m := mustRender(t, Notice("a@example.com", NoticePasskeyAdded, NoticeData{PasskeyName: "Key\r\nBcc: x\tLaptop" + strings.Repeat("z", 100)}))
	line := strings.SplitN(m.Text, "\n", 2)[0]
	if !strings.HasPrefix(line, `A passkey named "Key  Bcc: x Laptop`) || !strings.Contains(line, "zzz…") {
		t.Errorf("first line = %q; want the name on one line, cut short", line)
	}
}

func TestSubjectsCarryNoSecret(t *testing.T) {
	// Outbox and Queue log subjects, so a subject must never hold a code or
	// link (SECURITY rule 39).
	msgs := []Message{
		mustRender(t, SignIn(SignInData{To: "a@example.com", Link: testLink, Code: testCode, ExpiresInMinutes: 15})),
		mustRender(t, MFACode("a@example.com", testCode, 5)),
	}
	for _, m := range msgs {
		if strings.Contains(m.Subject, testCode) || strings.Contains(m.Subject, "Zm9v") {
			t.Errorf("Subject %q carries a secret", m.Subject)
		}
	}
}

func TestLanguage(t *testing.T) {
	for tag, want := range map[string]string{"ja": "ja", "ja-JP": "ja", "JA_jp": "ja", "en": "en", "en-US": "en", "fr": "en", "": "en", " ja ": "ja"} {
		if got := Language(tag); got != want {
			t.Errorf("Language(%q) = %q; want %q", tag, got, want)
		}
	}
}
