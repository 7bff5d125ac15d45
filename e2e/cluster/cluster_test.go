// Package cluster runs three `sesame serve` processes on one PostgreSQL
// schema and splits every flow across them: what a deployment behind a load
// balancer does (issue 6). It needs SESAME_TEST_POSTGRES_URL and skips
// without it.
package cluster

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"github.com/sesame-auth/sesame/internal/testkit"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/xdg-go/scram"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/db/dbtest"
	"github.com/sesame-auth/sesame/internal/testauthn"
	"github.com/sesame-auth/sesame/internal/testsmtp"
)

// cluster is three Sesame processes sharing one database and secret.
type cluster struct {
	bin       string
	env       []string // the SESAME_* settings every process shares
	publicURL string
	dbURL     string
	smtp      *testsmtp.Server
	inst      []*instance
	client    *http.Client
}

type instance struct {
	name string
	url  string // where it answers: http://127.0.0.1:PORT
	cmd  *exec.Cmd
	log  *syncBuffer
	done chan struct{} // closed when the process has exited
}

func TestCluster(t *testing.T) {
	base := os.Getenv(dbtest.PostgresEnv)
	if base == "" {
		testkit.Missing(t, "%s not set", dbtest.PostgresEnv)
	}
	c := start(t, base, 3)
	A, B, C := 0, 1, 2

	t.Run("migrated once", func(t *testing.T) {
		sqldb, err := sql.Open("pgx", c.dbURL)
		if err != nil {
			t.Fatal(err)
		}
		defer sqldb.Close()
		rows, err := sqldb.Query(`SELECT version_id, count(*) FROM goose_db_version GROUP BY version_id ORDER BY version_id`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var versions []int64
		for rows.Next() {
			var v, n int64
			if err := rows.Scan(&v, &n); err != nil {
				t.Fatal(err)
			}
			if n != 1 {
				t.Errorf("goose version %d recorded %d times; want once", v, n)
			}
			versions = append(versions, v)
		}
		migrations, _ := filepath.Glob("../../db/migrations/postgres/*.sql")
		if len(versions) != len(migrations)+1 { // goose's own version 0 row
			t.Errorf("goose versions %v; want 0 and one per migration (%d)", versions, len(migrations))
		}
		applied := 0
		for _, in := range c.inst {
			applied += strings.Count(in.log.String(), `msg="migration applied"`)
		}
		if applied != len(migrations) {
			t.Errorf("the three processes logged %d migrations applied; want %d in all", applied, len(migrations))
		}
	})

	t.Run("tokens verify on every instance", func(t *testing.T) {
		for i := range c.inst {
			s := c.signInByCode(t, i, i, fmt.Sprintf("verify%d@example.com", i))
			for j := range c.inst {
				c.wantMe(t, j, s.access, http.StatusOK)
			}
		}
	})

	t.Run("email code and link across instances", func(t *testing.T) {
		email := "email@example.com"
		flowID, code, _ := c.startEmail(t, A, email)
		s := c.session(t, c.do(t, B, "POST", "/api/email/verify", map[string]string{"flow_id": flowID, "code": code}))
		c.wantMe(t, C, s.access, http.StatusOK)

		_, _, link := c.startEmail(t, A, email)
		s2 := c.session(t, c.do(t, C, "POST", "/api/email/link", map[string]string{"token": link}))
		if s2.userID != s.userID {
			t.Errorf("the link signed in user %s; the code %s", s2.userID, s.userID)
		}
		// The code of the flow spent by link is dead on every instance.
		if r := c.do(t, A, "POST", "/api/email/link", map[string]string{"token": link}); r.status != http.StatusGone {
			t.Errorf("link spent twice: %d %s; want 410", r.status, r.body)
		}
	})

	t.Run("passkey begin on A, finish on B", func(t *testing.T) {
		email := "passkey@example.com"
		s := c.signInByCode(t, A, B, email)
		auth := testauthn.New(c.publicURL)
		begin := c.ceremony(t, c.do(t, A, "POST", "/api/webauthn/register/begin", map[string]any{}, bearer(s.access)))
		cred, err := auth.Create(begin.PublicKey)
		if err != nil {
			t.Fatal(err)
		}
		if r := c.do(t, B, "POST", "/api/webauthn/register/finish", finish(begin.ID, cred), bearer(s.access)); r.status != http.StatusCreated {
			t.Fatalf("register finish on B: %d %s", r.status, r.body)
		}
		for _, pair := range [][2]int{{A, B}, {B, C}, {C, A}} {
			login := c.ceremony(t, c.do(t, pair[0], "POST", "/api/webauthn/login/begin", map[string]any{}))
			assertion, err := auth.Get(login.PublicKey)
			if err != nil {
				t.Fatal(err)
			}
			ps := c.session(t, c.do(t, pair[1], "POST", "/api/webauthn/login/finish", finish(login.ID, assertion)))
			if ps.userID != s.userID {
				t.Fatalf("passkey signed in %s; want %s", ps.userID, s.userID)
			}
			// The ceremony is spent everywhere.
			if r := c.do(t, pair[0], "POST", "/api/webauthn/login/finish", finish(login.ID, assertion)); r.status == http.StatusOK {
				t.Fatalf("a ceremony finished twice")
			}
		}
	})

	t.Run("SCRAM begin on B, finish on C, second factor on A", func(t *testing.T) {
		email, pw := "scram@example.com", "correct horse battery staple"
		s := c.signInByCode(t, A, A, email)
		set := c.do(t, B, "POST", "/api/password/set/begin", nil, bearer(s.access))
		var sb struct {
			SetID      string `json:"set_id"`
			Salt       string `json:"salt"`
			Iterations int    `json:"iterations"`
		}
		c.decode(t, set, http.StatusOK, &sb)
		salt, err := base64.StdEncoding.DecodeString(sb.Salt)
		if err != nil {
			t.Fatal(err)
		}
		cl, err := scram.SHA256.NewClient(email, pw, "")
		if err != nil {
			t.Fatal(err)
		}
		keys := cl.GetStoredCredentials(scram.KeyFactors{Salt: string(salt), Iters: sb.Iterations})
		if r := c.do(t, C, "POST", "/api/password/set/finish", map[string]any{
			"set_id": sb.SetID, "iterations": sb.Iterations,
			"stored_key": base64.StdEncoding.EncodeToString(keys.StoredKey),
			"server_key": base64.StdEncoding.EncodeToString(keys.ServerKey),
		}, bearer(s.access)); r.status != http.StatusNoContent {
			t.Fatalf("password set finish on C: %d %s", r.status, r.body)
		}

		conv := cl.NewConversation()
		first, err := conv.Step("")
		if err != nil {
			t.Fatal(err)
		}
		var lb struct {
			LoginID     string `json:"login_id"`
			ServerFirst string `json:"server_first"`
		}
		c.decode(t, c.do(t, B, "POST", "/api/password/login/begin", map[string]string{"client_first": first}), http.StatusOK, &lb)
		final, err := conv.Step(lb.ServerFirst)
		if err != nil {
			t.Fatal(err)
		}
		var lf struct {
			ServerFinal string `json:"server_final"`
			MFAToken    string `json:"mfa_token"`
		}
		c.decode(t, c.do(t, C, "POST", "/api/password/login/finish", map[string]string{"login_id": lb.LoginID, "client_final": final}), http.StatusOK, &lf)
		if _, err := conv.Step(lf.ServerFinal); err != nil || !conv.Valid() {
			t.Fatalf("the client refused C's server signature: %v", err)
		}
		if r := c.do(t, A, "POST", "/api/mfa/email/send", map[string]string{"mfa_token": lf.MFAToken}); r.status != http.StatusAccepted {
			t.Fatalf("mfa send on A: %d %s", r.status, r.body)
		}
		code := testsmtp.ExtractCode(c.waitMail(t, email, "verification code").Text)
		ms := c.session(t, c.do(t, A, "POST", "/api/mfa/email/verify", map[string]string{"mfa_token": lf.MFAToken, "code": code}))
		if ms.userID != s.userID || !strings.Contains(ms.amr, "pwd") || !strings.Contains(ms.amr, "mfa") {
			t.Fatalf("MFA session %+v; want user %s with pwd and mfa", ms, s.userID)
		}
	})

	t.Run("refresh on each in turn; a replay on another revokes the family", func(t *testing.T) {
		s := c.signInByCode(t, A, A, "refresh@example.com")
		first := s.refresh
		for _, i := range []int{A, B, C, A} {
			s = c.session(t, c.do(t, i, "POST", "/api/session/refresh", nil, cookie(s.refresh)))
		}
		if r := c.do(t, B, "POST", "/api/session/refresh", nil, cookie(first)); r.status != http.StatusUnauthorized {
			t.Fatalf("replayed refresh token on B: %d %s; want 401", r.status, r.body)
		}
		if r := c.do(t, C, "POST", "/api/session/refresh", nil, cookie(s.refresh)); r.status != http.StatusUnauthorized {
			t.Fatalf("the family's newest token on C after the replay: %d %s; want 401", r.status, r.body)
		}
	})

	t.Run("30 concurrent spends of one link over three instances", func(t *testing.T) {
		_, _, link := c.startEmail(t, B, "race@example.com")
		var wg sync.WaitGroup
		statuses := make([]int, 30)
		for i := range statuses {
			wg.Add(1)
			go func() {
				defer wg.Done()
				statuses[i] = c.do(t, i%3, "POST", "/api/email/link", map[string]string{"token": link}).status
			}()
		}
		wg.Wait()
		ok := 0
		for _, st := range statuses {
			switch st {
			case http.StatusOK:
				ok++
			case http.StatusGone:
			default:
				t.Errorf("a spend answered %d; want 200 or 410", st)
			}
		}
		if ok != 1 {
			t.Fatalf("%d spends succeeded (%v); want exactly 1", ok, statuses)
		}
	})

	t.Run("keys rotate without a restart", func(t *testing.T) {
		sessions := make([]session, len(c.inst))
		for i := range c.inst {
			sessions[i] = c.signInByCode(t, i, i, fmt.Sprintf("rotate%d@example.com", i))
		}
		oldKID := kidOf(t, sessions[A].access)
		var before []string // access tokens signed with the old key
		for _, s := range sessions {
			before = append(before, s.access)
		}
		out, err := c.command(t, "keys", "rotate")
		if err != nil {
			t.Fatalf("sesame keys rotate: %v\n%s", err, out)
		}
		m := regexp.MustCompile(`kid=(\S+)`).FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("sesame keys rotate printed no kid:\n%s", out)
		}
		newKID := strings.Trim(m[1], `"`)
		if newKID == oldKID {
			t.Fatalf("the new kid is the old one")
		}
		deadline := time.Now().Add(15 * time.Second) // reload is 1 s here; 30 s by default
		for i := range c.inst {
			for {
				sessions[i] = c.session(t, c.do(t, i, "POST", "/api/session/refresh", nil, cookie(sessions[i].refresh)))
				if kid := kidOf(t, sessions[i].access); kid == newKID {
					break
				} else if time.Now().After(deadline) {
					t.Fatalf("%s still signs with %s, not the rotated %s", c.inst[i].name, kid, newKID)
				}
				time.Sleep(200 * time.Millisecond)
			}
		}
		// New tokens and old ones verify everywhere.
		for i, s := range sessions {
			for j := range c.inst {
				c.wantMe(t, j, s.access, http.StatusOK)
				c.wantMe(t, j, before[i], http.StatusOK)
			}
		}
	})
}

// start builds the binary and starts n processes at once on one fresh
// schema, and waits until every one is ready.
func start(t *testing.T, base string, n int) *cluster {
	t.Helper()
	c := &cluster{
		bin:    buildSesame(t),
		dbURL:  dbtest.CreateSchema(t, base),
		smtp:   testsmtp.Start(t),
		client: &http.Client{Timeout: 10 * time.Second},
	}
	ports := freePorts(t, n)
	c.publicURL = "http://localhost:" + strconv.Itoa(ports[0])
	c.env = []string{
		"SESAME_DATABASE=" + c.dbURL,
		"SESAME_SECRET=" + base64.StdEncoding.EncodeToString(sesame.RandomBytes(32)),
		"SESAME_PUBLIC_URL=" + c.publicURL,
		"SESAME_SMTP_URL=" + c.smtp.URL(),
		"SESAME_RATE_LIMITS=off",
		"SESAME_KEY_RELOAD=1s",
		"SESAME_DATA_DIR=" + t.TempDir(),
		"SESAME_LOG_LEVEL=debug",
	}
	for i, port := range ports {
		in := &instance{
			name: string(rune('A' + i)),
			url:  "http://127.0.0.1:" + strconv.Itoa(port),
			log:  &syncBuffer{},
			done: make(chan struct{}),
		}
		in.cmd = exec.Command(c.bin, "serve")
		in.cmd.Env = append(os.Environ(), append(c.env, "SESAME_ADDR=127.0.0.1:"+strconv.Itoa(port))...)
		in.cmd.Stdout, in.cmd.Stderr = in.log, in.log
		c.inst = append(c.inst, in)
	}
	// Start all at once: the migrations race, and the lock decides.
	for _, in := range c.inst {
		if err := in.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		go func() { _ = in.cmd.Wait(); close(in.done) }()
	}
	t.Cleanup(func() {
		for _, in := range c.inst {
			_ = in.cmd.Process.Signal(syscall.SIGTERM)
		}
		for _, in := range c.inst {
			select {
			case <-in.done:
			case <-time.After(10 * time.Second):
				_ = in.cmd.Process.Kill()
				<-in.done
			}
			if t.Failed() {
				t.Logf("--- log of %s:\n%s", in.name, in.log.String())
			}
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for _, in := range c.inst {
		for {
			res, err := c.client.Get(in.url + "/readyz")
			if err == nil {
				res.Body.Close()
				if res.StatusCode == http.StatusOK {
					break
				}
			}
			select {
			case <-in.done:
				t.Fatalf("%s exited before it was ready:\n%s", in.name, in.log.String())
			default:
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s not ready after 30 s (%v):\n%s", in.name, err, in.log.String())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return c
}

// buildSesame builds cmd/sesame into the test's temporary directory.
func buildSesame(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "sesame")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/sesame-auth/sesame/cmd/sesame")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// command runs the binary once with the cluster's settings.
func (c *cluster) command(t *testing.T, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.bin, args...)
	cmd.Env = append(os.Environ(), c.env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var ports []int
	var lns []net.Listener
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns = append(lns, ln)
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	for _, ln := range lns {
		ln.Close()
	}
	return ports
}

type header struct{ name, value string }

func bearer(token string) header { return header{"Authorization", "Bearer " + token} }
func cookie(refresh string) header {
	return header{"Cookie", "sesame_refresh=" + refresh}
}

type response struct {
	status int
	header http.Header
	body   []byte
}

// do sends a request to instance i. Safe to call from several goroutines.
func (c *cluster) do(t *testing.T, i int, method, path string, body any, headers ...header) response {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Error(err)
			return response{}
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.inst[i].url+path, r)
	if err != nil {
		t.Error(err)
		return response{}
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for _, h := range headers {
		req.Header.Set(h.name, h.value)
	}
	res, err := c.client.Do(req)
	if err != nil {
		t.Errorf("%s %s on %s: %v", method, path, c.inst[i].name, err)
		return response{}
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return response{status: res.StatusCode, header: res.Header, body: b}
}

func (c *cluster) decode(t *testing.T, r response, status int, v any) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d %s; want %d", r.status, r.body, status)
	}
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("%s: %v", r.body, err)
	}
}

type session struct {
	access, refresh, userID, amr string
}

func (c *cluster) session(t *testing.T, r response) session {
	t.Helper()
	var body struct {
		AccessToken string   `json:"access_token"`
		AMR         []string `json:"amr"`
		User        struct {
			ID string `json:"id"`
		} `json:"user"`
	}
	c.decode(t, r, http.StatusOK, &body)
	s := session{access: body.AccessToken, userID: body.User.ID, amr: strings.Join(body.AMR, " ")}
	for _, ck := range (&http.Response{Header: r.header}).Cookies() {
		if ck.Name == "sesame_refresh" {
			s.refresh = ck.Value
		}
	}
	if s.access == "" || s.refresh == "" || s.userID == "" {
		t.Fatalf("incomplete session: %s", r.body)
	}
	return s
}

type ceremony struct {
	ID        string          `json:"ceremony_id"`
	PublicKey json.RawMessage `json:"publicKey"`
}

func (c *cluster) ceremony(t *testing.T, r response) ceremony {
	t.Helper()
	var cer ceremony
	c.decode(t, r, http.StatusOK, &cer)
	return cer
}

func finish(id string, credential []byte) map[string]any {
	return map[string]any{"ceremony_id": id, "credential": json.RawMessage(credential)}
}

func (c *cluster) wantMe(t *testing.T, i int, access string, status int) {
	t.Helper()
	if r := c.do(t, i, "GET", "/api/me", nil, bearer(access)); r.status != status {
		t.Fatalf("GET /api/me on %s: %d %s; want %d", c.inst[i].name, r.status, r.body, status)
	}
}

// startEmail starts an email flow on instance i and returns the flow id
// with the code and link token of the message that arrived.
func (c *cluster) startEmail(t *testing.T, i int, email string) (flowID, code, link string) {
	t.Helper()
	var body struct {
		FlowID string `json:"flow_id"`
	}
	c.decode(t, c.do(t, i, "POST", "/api/email/start", map[string]string{"email": email}), http.StatusAccepted, &body)
	m := c.waitMail(t, email, "")
	return body.FlowID, testsmtp.ExtractCode(m.Text), testsmtp.ExtractLinkToken(m.Text)
}

// signInByCode starts an email flow on one instance and verifies its code
// on another.
func (c *cluster) signInByCode(t *testing.T, start, verify int, email string) session {
	t.Helper()
	flowID, code, _ := c.startEmail(t, start, email)
	return c.session(t, c.do(t, verify, "POST", "/api/email/verify", map[string]string{"flow_id": flowID, "code": code}))
}

// waitMail returns the next message to email that carries a sign-in link,
// or whose subject holds subject; notices in between are skipped.
func (c *cluster) waitMail(t *testing.T, email, subject string) testsmtp.Message {
	t.Helper()
	for {
		m := c.smtp.Wait(t, email)
		if subject == "" && testsmtp.ExtractLinkToken(m.Text) != "" || subject != "" && strings.Contains(m.Subject, subject) {
			return m
		}
	}
}

// kidOf returns the kid in a JWT's header.
func kidOf(t *testing.T, jwt string) string {
	t.Helper()
	h, _, _ := strings.Cut(jwt, ".")
	raw, err := base64.RawURLEncoding.DecodeString(h)
	if err != nil {
		t.Fatal(err)
	}
	var hdr struct {
		KID string `json:"kid"`
	}
	if err := json.Unmarshal(raw, &hdr); err != nil || hdr.KID == "" {
		t.Fatalf("JWT header %s: %v", raw, err)
	}
	return hdr.KID
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
