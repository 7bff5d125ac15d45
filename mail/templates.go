package mail

import (
	"bytes"
	"embed"
	"fmt"
	htmltemplate "html/template"
	"strings"
	texttemplate "text/template"
	"time"
	"unicode"
)

// templateFS holds one .txt and one .html file per message. The .txt file
// also defines the subject; layout.txt and layout.html hold what messages
// share.
//
//go:embed templates
var templateFS embed.FS

// templates maps a message name ("signin", "notice_passkey_added") to its
// parsed parts; a translation is there as name@language ("signin@ja"),
// parsed from templates/<language>/. It is filled once when the package loads and only read
// after; templates are safe for concurrent use.
var templates = mustParseTemplates()

type messageTemplate struct {
	text *texttemplate.Template
	html *htmltemplate.Template
}

func mustParseTemplates() map[string]messageTemplate {
	names := []string{"signin", "mfacode", "emailchange", "approval"}
	for _, k := range append(noticeKinds[:len(noticeKinds):len(noticeKinds)], accountNoticeKinds...) {
		names = append(names, "notice_"+string(k))
	}
	out := make(map[string]messageTemplate, len(names))
	for _, name := range names {
		text := texttemplate.Must(texttemplate.New(name+".txt").Option("missingkey=error").
			ParseFS(templateFS, "templates/layout.txt", "templates/"+name+".txt"))
		html := htmltemplate.Must(htmltemplate.New("layout.html").Option("missingkey=error").
			ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html"))
		out[name] = messageTemplate{text: text, html: html}
	}
	for lang, names := range translated {
		for _, name := range names {
			dir := "templates/" + lang + "/"
			text := texttemplate.Must(texttemplate.New(name+".txt").Option("missingkey=error").
				ParseFS(templateFS, dir+"layout.txt", dir+name+".txt"))
			html := htmltemplate.Must(htmltemplate.New("layout.html").Option("missingkey=error").
				ParseFS(templateFS, dir+"layout.html", dir+name+".html"))
			out[name+"@"+lang] = messageTemplate{text: text, html: html}
		}
	}
	return out
}

// translated lists, per language other than English, the messages written
// in it. A message asked for in a language it lacks goes out in English.
var translated = map[string][]string{
	"ja": {"signin", "approval"},
}

// Language returns the mail language for a page's language tag ("ja",
// "ja-JP"): one that has translations, else "en".
func Language(tag string) string {
	base := strings.ToLower(strings.TrimSpace(tag))
	if i := strings.IndexAny(base, "-_"); i >= 0 {
		base = base[:i]
	}
	if _, ok := translated[base]; ok {
		return base
	}
	return "en"
}

// localized is data that names the language its message is written in.
type localized interface{ language() string }

// render executes the message called name on data. It fails only on a bug
// in a template or a draft decoded from a newer version; the caller (a
// queue worker) logs the error and gives the message up.
func render(name, to string, data any) (Message, error) {
	t, ok := templates[name]
	if !ok {
		return Message{}, fmt.Errorf("mail: no template %q", name)
	}
	if l, ok := data.(localized); ok {
		if tl, ok := templates[name+"@"+l.language()]; ok {
			t = tl
		}
	}
	var subject, text, html bytes.Buffer
	if err := t.text.ExecuteTemplate(&subject, "subject", data); err != nil {
		return Message{}, fmt.Errorf("mail: render %s subject: %w", name, err)
	}
	if err := t.text.ExecuteTemplate(&text, name+".txt", data); err != nil {
		return Message{}, fmt.Errorf("mail: render %s text: %w", name, err)
	}
	if err := t.html.ExecuteTemplate(&html, "layout.html", data); err != nil {
		return Message{}, fmt.Errorf("mail: render %s html: %w", name, err)
	}
	return Message{
		To:      to,
		Subject: strings.Join(strings.Fields(subject.String()), " "),
		Text:    tidy(text.String()),
		HTML:    tidy(html.String()),
	}, nil
}

// tidy drops the blank lines that conditional template blocks leave: no
// more than one blank line in a row, none at the ends.
func tidy(s string) string {
	lines := strings.Split(s, "\n")
	out := lines[:0]
	blank := true // drops leading blank lines
	for _, l := range lines {
		if strings.TrimSpace(l) == "" {
			l = ""
		}
		if l == "" && blank {
			continue
		}
		blank = l == ""
		out = append(out, l)
	}
	return strings.TrimRight(strings.Join(out, "\n"), "\n") + "\n"
}

// SignInData fills the sign-in email.
type SignInData struct {
	To string
	// Link is the full sign-in link, <public URL>/auth/link#t=<token>, built
	// from the configured public URL (SECURITY rules 14 and 15).
	Link string
	// Code is the 6-digit code for signing in on another device.
	Code             string
	ExpiresInMinutes int
	// IsNewAccount words the email as finishing sign-up.
	IsNewAccount bool
	// Language is the page's language when the person asked (see
	// Language); "" or one without a translation is English.
	Language string `json:",omitempty"`
}

func (d SignInData) language() string { return d.Language }

// SignIn is the email that carries a sign-in link and code.
func SignIn(data SignInData) Draft {
	return Draft{template: "signin", to: data.To, data: data}
}

// mfaCodeData fills the second-factor code email.
type mfaCodeData struct {
	Code             string
	ExpiresInMinutes int
}

// MFACode is the email that carries the second-factor code sent after a
// correct password.
func MFACode(to, code string, minutes int) Draft {
	return Draft{template: "mfacode", to: to, data: mfaCodeData{code, minutes}}
}

// NoticeKind names a security notice sent to a user (SECURITY rule 40).
type NoticeKind string

// The notices Sesame sends.
const (
	NoticePasskeyAdded       NoticeKind = "passkey_added"        // uses NoticeData.PasskeyName
	NoticePasswordSet        NoticeKind = "password_set"         // a first password
	NoticePasswordChanged    NoticeKind = "password_changed"     // a password replaced
	NoticePasswordRemoved    NoticeKind = "password_removed"     //
	NoticeRefreshTokenReused NoticeKind = "refresh_token_reused" // possible theft; the session was ended
	NoticeNewDevice          NoticeKind = "new_device"           // a sign-in from a new device
	// NoticeNoAccount answers a sign-in request for an address without an
	// account while sign-up is closed. Sending it keeps the work done for
	// known and unknown addresses alike (SECURITY rule 35).
	NoticeNoAccount NoticeKind = "no_account"
)

var noticeKinds = []NoticeKind{
	NoticePasskeyAdded, NoticePasswordSet, NoticePasswordChanged,
	NoticePasswordRemoved, NoticeRefreshTokenReused, NoticeNewDevice, NoticeNoAccount,
}

// NoticeData fills a notice. Every field is optional.
type NoticeData struct {
	PasskeyName string    // the name the user gave the passkey
	Device      string    // a short description such as "Firefox on Linux"
	IP          string    // where the request came from
	Time        time.Time // when it happened; shown in UTC
	// AccountURL links to the account page, built from the configured
	// public URL (SECURITY rule 15).
	AccountURL string
}

// noticeView is what notice templates see: user-supplied strings cleaned,
// the time formatted.
type noticeView struct {
	PasskeyName, Device, IP, When, AccountURL string
}

// Notice is a security notice of the given kind. A kind not declared above
// fails when the draft is rendered.
func Notice(to string, kind NoticeKind, d NoticeData) Draft {
	v := noticeView{
		PasskeyName: clean(d.PasskeyName, 64),
		Device:      clean(d.Device, 100),
		IP:          clean(d.IP, 64),
		AccountURL:  d.AccountURL,
	}
	if !d.Time.IsZero() {
		v.When = d.Time.UTC().Format("Mon, 2 Jan 2006 15:04 UTC")
	}
	return Draft{template: "notice_" + string(kind), to: to, data: v}
}

// clean turns control characters (line breaks included) into spaces and
// cuts s to at most n runes, so a passkey name or user agent cannot add
// lines to a notice.
func clean(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	s = strings.TrimSpace(s)
	if r := []rune(s); len(r) > n {
		s = string(r[:n-1]) + "…"
	}
	return s
}
