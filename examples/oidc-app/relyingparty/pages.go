package relyingparty

import (
	"encoding/json"
	"html/template"
	"net/http"
	"sort"
)

// The app's pages: plain HTML, its own look, nothing of Sesame's.
var pages = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.App}}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 0; background: #f3f6f4; color: #17211b; }
header { background: #1f6f4a; color: #fff; padding: .9rem 1.25rem; font-weight: 700; }
main { max-width: 36rem; margin: 1.5rem auto; padding: 0 1rem; }
.box { background: #fff; border: 1px solid #cfdcd3; border-radius: 12px; padding: 1.25rem; }
.button { display: inline-block; font: inherit; font-weight: 600; padding: .7rem 1.1rem; border-radius: 8px; border: 0; background: #1f6f4a; color: #fff; text-decoration: none; cursor: pointer; }
table { border-collapse: collapse; width: 100%; margin: .75rem 0; font-size: .9rem; }
th, td { text-align: left; padding: .35rem .5rem; border-bottom: 1px solid #e2ebe5; vertical-align: top; }
td { font-family: ui-monospace, monospace; overflow-wrap: anywhere; }
.muted { color: #56645b; }
.error { color: #a3261e; }
</style></head>
<body><header>{{.App}}</header><main><div class="box">
{{if .Session}}
<h1 id="signed-in">Signed in as {{with index .Session.Claims "email"}}{{.}}{{else}}{{.Session.Subject}}{{end}}</h1>
<p class="muted">These claims come from the ID token, verified with Sesame's published keys:</p>
<table id="claims">{{range .Claims}}<tr><th>{{.Name}}</th><td data-claim="{{.Name}}">{{.Value}}</td></tr>{{end}}</table>
<p class="muted" id="tokens">Scopes granted: <span id="scope">{{.Session.Scope}}</span>. Refresh token: {{if .Session.HasRefresh}}yes{{else}}no{{end}}.{{with .Session.UserinfoEmail}} Userinfo says: <span id="userinfo-email">{{.}}</span>.{{end}}</p>
<form method="post" action="/logout"><button class="button" id="sign-out" type="submit">Sign out</button></form>
{{else if .Message}}
<h1 id="message">{{.Message}}</h1>
{{with .Detail}}<p class="error" id="detail">{{.}}</p>{{end}}
<p><a class="button" id="sign-in" href="/login">Sign in with Sesame</a></p>
{{else}}
<h1>Welcome to {{.App}}</h1>
<p class="muted">This app has no passwords of its own: Sesame signs you in.</p>
<p><a class="button" id="sign-in" href="/login">Sign in with Sesame</a></p>
{{end}}
</div></main></body></html>`))

type claim struct{ Name, Value string }

type pageData struct {
	App             string
	Session         *Session
	Claims          []claim
	Message, Detail string
}

func (a *App) render(w http.ResponseWriter, status int, d pageData) {
	d.App = a.cfg.Name
	if d.Session != nil {
		for k, v := range d.Session.Claims {
			b, _ := json.Marshal(v)
			d.Claims = append(d.Claims, claim{k, string(b)})
		}
		sort.Slice(d.Claims, func(i, j int) bool { return d.Claims[i].Name < d.Claims[j].Name })
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = pages.Execute(w, d)
}

func (a *App) home(w http.ResponseWriter, r *http.Request) {
	_, s := a.session(r)
	a.render(w, http.StatusOK, pageData{Session: s})
}

func (a *App) signedOut(w http.ResponseWriter, r *http.Request) {
	a.render(w, http.StatusOK, pageData{Message: "You are signed out of " + a.cfg.Name + "."})
}

func (a *App) fail(w http.ResponseWriter, status int, message, detail string) {
	a.log.Warn("sign-in failed", "app", a.cfg.Name, "why", message, "detail", detail)
	a.render(w, status, pageData{Message: message, Detail: detail})
}
