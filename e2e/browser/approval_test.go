package browser_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	gooidc "github.com/coreos/go-oidc/v3/oidc"

	"github.com/sesame-auth/sesame/internal/mailparse"
	"github.com/sesame-auth/sesame/internal/testserver"
	"github.com/sesame-auth/sesame/oidc"
)

// bank is an app asking people for approvals (OpenID CIBA, poll mode) the
// way a bank's backend does: plain net/http with client_secret_basic.
type bank struct {
	t          *testing.T
	env        *testserver.Env
	id, secret string
}

func newBank(t *testing.T, env *testserver.Env) *bank {
	t.Helper()
	c, secret, err := env.App.OIDC.Register(context.Background(), oidc.NewClient{Name: "Bank", CIBA: true})
	if err != nil {
		t.Fatal(err)
	}
	return &bank{t: t, env: env, id: c.ID, secret: secret}
}

func (a *bank) post(path string, v url.Values) (int, map[string]any) {
	a.t.Helper()
	req, err := http.NewRequest("POST", a.env.BaseURL+path, strings.NewReader(v.Encode()))
	if err != nil {
		a.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(a.id), url.QueryEscape(a.secret))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	out := map[string]any{}
	if err := json.Unmarshal(raw, &out); err != nil {
		a.t.Fatalf("%s = %d %s", path, res.StatusCode, raw)
	}
	return res.StatusCode, out
}

// ask asks the person to approve message and returns the auth_req_id.
func (a *bank) ask(email, message string, extra url.Values) string {
	a.t.Helper()
	v := url.Values{"scope": {"openid email"}, "login_hint": {email}, "binding_message": {message}}
	for k, vs := range extra {
		v[k] = vs
	}
	status, body := a.post("/oauth2/bc-authorize", v)
	id, _ := body["auth_req_id"].(string)
	if status != http.StatusOK || id == "" {
		a.t.Fatalf("bc-authorize = %d %v", status, body)
	}
	return id
}

// poll polls once, a poll interval after the last one (the server's
// clock is the test's), and returns the answer.
func (a *bank) poll(authReqID string) (int, map[string]any) {
	a.t.Helper()
	a.env.Clock.Advance(oidc.CIBAInterval)
	return a.post("/oauth2/token", url.Values{"grant_type": {oidc.GrantCIBA}, "auth_req_id": {authReqID}})
}

// approvalLink waits for the next approval email to addr and returns it
// with the path of its link.
func approvalLink(t *testing.T, env *testserver.Env, addr string) (subject, link string) {
	t.Helper()
	for {
		m := env.SMTP.Wait(t, addr)
		if tok := mailparse.ExtractApprovalToken(m.Text); tok != "" {
			return m.Subject, "/approve#t=" + tok
		}
	}
}

// TestApproval is an app's request approved in the browser (API.md
// "Approvals"): the app asks over plain HTTP, the person opens the
// emailed link, reads the app's name and the message exactly as sent (as
// text: markup in it stays text), and approves with the platform
// authenticator; the polling app gets an ID token go-oidc verifies,
// with txn, binding_message and amr hwk. A second request waits on the
// account page and is approved there. A third, in Japanese, is denied
// from its link, and the app hears access_denied.
func TestApproval(t *testing.T) {
	env := newEnv(t)
	b := openTab(t, env, "ada", tabOptions{Authenticator: true})
	const email = "ada@example.com"
	b.signUp(email, true)
	b.addPasskeyFromOffer(email)
	app := newBank(t, env)

	msg := `Pay 120.00 EUR to <i>ACME</i> & Co — 請求書 #42`
	reqID := app.ask(email, msg, nil)
	subject, link := approvalLink(t, env, email)
	if subject != "Bank asks you to approve: "+msg {
		t.Errorf("subject %q", subject)
	}
	b.open(link)
	b.waitVisible("#request")
	if got := eval[string](b, `document.querySelector("#approve-message").textContent`); got != msg {
		t.Errorf("the page shows %q; want %q exactly", got, msg)
	}
	if n := eval[int](b, `document.querySelector("#approve-message").children.length`); n != 0 {
		t.Errorf("the message became HTML (%d elements)", n)
	}
	b.waitText("#approve-app", "Bank asks you to approve:")
	if href := eval[string](b, `location.href`); strings.Contains(href, "#") {
		t.Errorf("the token stayed in the address bar: %s", href)
	}
	b.look("approve")
	if status, body := app.poll(reqID); status != 400 || body["error"] != "authorization_pending" {
		t.Fatalf("poll before approval = %d %v", status, body)
	}

	b.click("#approve-button")
	b.waitText("#done-heading", "Done — you can close this page")
	b.waitText("#done-text", "You approved the request from Bank.")
	b.look("approved")

	status, tok := app.poll(reqID)
	if status != http.StatusOK {
		t.Fatalf("poll after approval = %d %v", status, tok)
	}
	ctx := context.Background()
	provider, err := gooidc.NewProvider(ctx, env.PublicURL)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := tok["id_token"].(string)
	idt, err := provider.Verifier(&gooidc.Config{ClientID: app.id, Now: env.Clock.Now}).Verify(ctx, raw)
	if err != nil {
		t.Fatalf("ID token: %v", err)
	}
	var claims struct {
		TXN            string   `json:"txn"`
		BindingMessage string   `json:"binding_message"`
		AMR            []string `json:"amr"`
		Email          string   `json:"email"`
	}
	if err := idt.Claims(&claims); err != nil {
		t.Fatal(err)
	}
	if claims.TXN != reqID || claims.BindingMessage != msg || !slices.Contains(claims.AMR, "hwk") || claims.Email != email {
		t.Errorf("ID token claims %+v", claims)
	}

	// A request waiting on the account page, approved there.
	second := app.ask(email, "Delete project Apollo", nil)
	approvalLink(t, env, email) // its mail, unused here
	b.open("/account")
	b.waitVisible("#approvals-panel")
	b.waitText("#approvals .item-name", "Bank")
	if got := b.text("#approvals .message"); got != "Delete project Apollo" {
		t.Errorf("account page shows %q", got)
	}
	b.look("account-pending")
	b.click("#approvals li button.small")
	b.waitText("#approvals-note", "Approved.")
	b.wait("the list emptied", `document.querySelectorAll("#approvals li").length === 0`)
	if status, body := app.poll(second); status != http.StatusOK {
		t.Fatalf("poll after approval on the account page = %d %v", status, body)
	}
	b.waitText("#activity", "You approved an app's request with a passkey")
	b.shot("account-approved")

	// The first link is spent: opened again, it says so.
	b.open(link)
	b.waitText("#error", "You approved this request already.")
	b.shot("link-spent")

	// In Japanese, denied from the link.
	third := app.ask(email, "口座を解約する", url.Values{"ui_locales": {"ja"}})
	subject, link = approvalLink(t, env, email)
	if subject != "Bank から承認の依頼：口座を解約する" {
		t.Errorf("Japanese subject %q", subject)
	}
	ja := openTab(t, env, "ja", tabOptions{Language: "ja-JP"})
	ja.open(link)
	ja.waitVisible("#request")
	ja.waitText("#approve-app", "Bank から次の内容の承認を求められています")
	ja.waitText("#approve-message", "口座を解約する")
	ja.waitText("#approve-button", "パスキーで承認")
	ja.look("approve-ja")
	ja.click("#deny-button")
	ja.waitText("#done-heading", "拒否しました — このページは閉じてかまいません")
	ja.shot("denied-ja")
	if status, body := app.poll(third); status != 400 || body["error"] != "access_denied" {
		t.Fatalf("poll after denial = %d %v", status, body)
	}

	// The account page checks again every 30 seconds: a request made
	// while it is open appears without a reload. Virtual time runs the
	// page's clock 31 s on; this is the last step, as the page's time
	// stays paused after the budget.
	b.open("/account")
	b.waitVisible("#account")
	b.wait("no request waiting", `document.getElementById("approvals-panel").hidden`)
	app.ask(email, "Transfer 5 EUR to Bob", nil)
	approvalLink(t, env, email)
	budget := 31_000.0
	b.call("run the page's clock 31 s on", func(ctx context.Context) error {
		_, err := chromedp.Call(ctx, emulation.SetVirtualTimePolicy, emulation.SetVirtualTimePolicyParams{
			Policy: emulation.VirtualTimePolicyAdvance, Budget: &budget})
		return err
	})
	b.waitText("#approvals .message", "Transfer 5 EUR to Bob")
}
