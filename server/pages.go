package server

import (
	"bytes"
	"html/template"
	"net"
	"net/http"
	"regexp"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/filesystem"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/frontend"
)

func (s *Server) pages() {
	s.app.Use("/static", filesystem.New(filesystem.Config{
		Root:   http.FS(frontend.Static()),
		MaxAge: 300,
	}))
	s.app.Get("/", func(c *fiber.Ctx) error { return c.Redirect("/signin", fiber.StatusSeeOther) })
	s.app.Get("/signin", signinPage)
	// GET /signout asks before signing out; /oauth2/end_session hands
	// over to it as /signout?logout=ID.
	s.app.Get("/signout", page("signout"))
	// GET /auth/link renders the confirm page and changes nothing; the
	// token stays in the fragment (SECURITY rule 14).
	s.app.Get("/auth/link", page("link"))
	// GET /approve shows an app's request for approval from the emailed
	// link, whose token stays in the fragment; the page's POSTs act.
	s.app.Get("/approve", page("approve"))
	s.app.Get("/account", page("account"))
	if s.cfg.Outbox != nil {
		s.app.Get("/dev/outbox", s.outbox)
	}
}

func page(name string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		// The page starts in the language Accept-Language prefers; its
		// script translates it and offers a switch.
		body, err := frontend.PageFor(name, c.Get(fiber.HeaderAcceptLanguage))
		if err != nil {
			return err
		}
		c.Vary(fiber.HeaderAcceptLanguage)
		c.Type("html", "utf-8")
		return c.Send(body)
	}
}

// signinPage is the sign-in page. Signing in to an app
// (/signin?request=ID) starts with the app's request, so the page's body
// is marked and stays unseen until its script knows whether the person
// passes straight through.
func signinPage(c *fiber.Ctx) error {
	if c.Query("request") == "" {
		return page("signin")(c)
	}
	body, err := frontend.PageFor("signin", c.Get(fiber.HeaderAcceptLanguage))
	if err != nil {
		return err
	}
	c.Vary(fiber.HeaderAcceptLanguage)
	c.Type("html", "utf-8")
	return c.Send(bytes.Replace(body, []byte("<body>"), []byte(`<body class="handover">`), 1))
}

var outboxPage = template.Must(template.New("outbox").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Dev outbox · Sesame</title><link rel="stylesheet" href="/static/app.css"></head>
<body><main class="card wide outbox"><h1>Development outbox</h1>
<p>Mail Sesame would have sent. This page exists only on localhost without SMTP.</p>
{{range .}}<article><h2>{{.Subject}}</h2><p>To {{.To}} · {{.SentAt.Format "15:04:05"}}</p>
<pre>{{range .Parts}}{{if .Link}}<a href="{{.Text}}">{{.Text}}</a>{{else}}{{.Text}}{{end}}{{end}}</pre></article>
{{else}}<p>No mail yet.</p>{{end}}
</main></body></html>`))

var linkPattern = regexp.MustCompile(`https?://[^\s<>"]+`)

type textPart struct {
	Text string
	Link bool
}

// linkify splits text into plain parts and links, so the outbox can make
// links clickable while html/template escapes everything.
func linkify(text string) []textPart {
	var parts []textPart
	last := 0
	for _, m := range linkPattern.FindAllStringIndex(text, -1) {
		parts = append(parts, textPart{Text: text[last:m[0]]}, textPart{Text: text[m[0]:m[1]], Link: true})
		last = m[1]
	}
	return append(parts, textPart{Text: text[last:]})
}

// fromLoopback reports whether a request came over a loopback connection
// and names a loopback host. The peer is the socket's, never a proxy
// header's; the Host header stops DNS rebinding, where a page on another
// site resolves its own name to 127.0.0.1 and reads the answer (SECURITY
// rule 58).
func fromLoopback(c *fiber.Ctx) bool {
	if !c.Context().RemoteIP().IsLoopback() {
		return false
	}
	host := string(c.Request().Host())
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// outbox shows the development outbox: every link and code sent, so only
// to the developer's own machine.
func (s *Server) outbox(c *fiber.Ctx) error {
	if !fromLoopback(c) {
		return sesame.Errorf(sesame.ENotFound, "Not found.")
	}
	type entry struct {
		Subject, To string
		SentAt      interface{ Format(string) string }
		Parts       []textPart
	}
	var list []entry
	for _, m := range s.cfg.Outbox.Messages() {
		list = append(list, entry{Subject: m.Subject, To: m.To, SentAt: m.SentAt, Parts: linkify(strings.TrimSpace(m.Text))})
	}
	var buf bytes.Buffer
	if err := outboxPage.Execute(&buf, list); err != nil {
		return err
	}
	c.Type("html", "utf-8")
	return c.Send(buf.Bytes())
}
