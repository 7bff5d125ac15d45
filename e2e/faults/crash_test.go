//go:build faults

package faults

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/db/dbtest"
	"github.com/sesame-auth/sesame/internal/testkit"
	"github.com/sesame-auth/sesame/internal/testsmtp"
)

// process is one `sesame serve`.
type process struct {
	cmd  *exec.Cmd
	log  *testkit.LogBuffer
	done chan struct{}
}

func startSesame(t *testing.T, bin string, env []string, url string) *process {
	t.Helper()
	p := &process{log: &testkit.LogBuffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(bin, "serve")
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(15 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("--- sesame log:\n%s", p.log.String())
		}
	})
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if res, err := http.Get(url + "/readyz"); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return p
			}
		}
		select {
		case <-p.done:
			t.Fatalf("sesame exited before it was ready:\n%s", p.log.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("sesame not ready within 30 s:\n%s", p.log.String())
		}
	}
}

// post sends a JSON POST (with a refresh cookie if given) and returns the
// status, the decoded body and the new refresh cookie.
func post(client *http.Client, url, path string, body any, refresh string) (int, map[string]any, string, error) {
	b, _ := json.Marshal(body)
	req, err := http.NewRequest("POST", url+path, bytes.NewReader(b))
	if err != nil {
		return 0, nil, "", err
	}
	req.Header.Set("Content-Type", "application/json")
	if refresh != "" {
		req.Header.Set("Cookie", "sesame_refresh="+refresh)
	}
	res, err := client.Do(req)
	if err != nil {
		return 0, nil, "", err
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	var cookie string
	for _, c := range res.Cookies() {
		if c.Name == "sesame_refresh" {
			cookie = c.Value
		}
	}
	return res.StatusCode, out, cookie, nil
}

// TestKill9UnderLoad: `kill -9` of the real binary during a load of
// email starts and sign-ins, with mail waiting in the outbox; after a
// restart, refresh tokens issued before work, a link spent before stays
// spent, every mail accepted before the kill is delivered, and nothing is
// left locked.
func TestKill9UnderLoad(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "sesame")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/sesame-auth/sesame/cmd/sesame").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			database := "sqlite:" + filepath.Join(t.TempDir(), "sesame.db")
			if engine == "postgres" {
				base := os.Getenv(dbtest.PostgresEnv)
				if base == "" {
					testkit.Missing(t, "%s not set", dbtest.PostgresEnv)
				}
				database = dbtest.CreateSchema(t, base)
			}
			kill9(t, bin, database)
		})
	}
}

func kill9(t *testing.T, bin, database string) {
	relay := testsmtp.Start(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	url := "http://127.0.0.1:" + strconv.Itoa(port)
	env := []string{
		"SESAME_DATABASE=" + database,
		"SESAME_SECRET=" + base64.StdEncoding.EncodeToString(sesame.RandomBytes(32)),
		"SESAME_PUBLIC_URL=http://localhost:" + strconv.Itoa(port),
		"SESAME_SMTP_URL=" + relay.URL(),
		"SESAME_RATE_LIMITS=off",
		"SESAME_DATA_DIR=" + t.TempDir(),
		"SESAME_ADDR=127.0.0.1:" + strconv.Itoa(port),
	}
	client := &http.Client{Timeout: 10 * time.Second}
	first := startSesame(t, bin, env, url)

	// A link spent before the crash.
	status, body, _, err := post(client, url, "/api/email/start", map[string]string{"email": "link@example.com"}, "")
	if err != nil || status != http.StatusAccepted {
		t.Fatalf("start: %d %v %v", status, body, err)
	}
	link := testsmtp.ExtractLinkToken(waitMessage(t, relay, "link@example.com", 10*time.Second).Text)
	if status, body, _, err = post(client, url, "/api/email/link", map[string]string{"token": link}, ""); status != http.StatusOK {
		t.Fatalf("spending the link: %d %v %v", status, body, err)
	}

	// The load: email starts, and sign-ins when their mail arrives.
	var (
		mu       sync.Mutex
		accepted []string // addresses whose start answered 202
		refresh  []string // refresh tokens of completed sign-ins
		seq      atomic.Int64
		killed   atomic.Bool
		piling   atomic.Bool // the relay refuses: start without waiting for mail
	)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for !killed.Load() {
				address := fmt.Sprintf("crash%d@example.com", seq.Add(1))
				status, body, _, err := post(client, url, "/api/email/start", map[string]string{"email": address}, "")
				if err != nil || status != http.StatusAccepted {
					continue
				}
				mu.Lock()
				accepted = append(accepted, address)
				mu.Unlock()
				if piling.Load() {
					continue
				}
				flowID, _ := body["flow_id"].(string)
				var m []testsmtp.Message
				for deadline := time.Now().Add(time.Second); len(m) == 0 && time.Now().Before(deadline) && !killed.Load(); {
					time.Sleep(10 * time.Millisecond)
					m = messagesTo(relay, address)
				}
				if len(m) == 0 {
					continue
				}
				status, _, cookie, err := post(client, url, "/api/email/verify", map[string]string{"flow_id": flowID, "code": testsmtp.ExtractCode(m[0].Text)}, "")
				if err == nil && status == http.StatusOK && cookie != "" {
					mu.Lock()
					refresh = append(refresh, cookie)
					mu.Unlock()
				}
			}
		})
	}
	time.Sleep(2 * time.Second)
	relay.RefuseFor(time.Hour) // from now mail piles up in the outbox
	piling.Store(true)
	time.Sleep(time.Second)
	mu.Lock()
	if err := first.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed.Store(true)
	acceptedBefore, refreshBefore := append([]string(nil), accepted...), append([]string(nil), refresh...)
	mu.Unlock()
	<-first.done
	wg.Wait()
	waiting := 0
	for _, a := range acceptedBefore {
		if len(messagesTo(relay, a)) == 0 {
			waiting++
		}
	}
	t.Logf("before the kill: %d starts accepted (%d mails not yet delivered), %d sign-ins", len(acceptedBefore), waiting, len(refreshBefore))
	if waiting == 0 || len(refreshBefore) == 0 {
		t.Fatal("no mail waiting or no sign-in before the kill: the test proves nothing")
	}

	relay.RefuseFor(0)
	restart := time.Now()
	startSesame(t, bin, env, url) // migrations and locks: it starts and is ready

	// Every accepted mail arrives; those a dead worker held, after its lease.
	for deadline := time.Now().Add(90 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		var missing []string
		for _, a := range acceptedBefore {
			if len(messagesTo(relay, a)) == 0 {
				missing = append(missing, a)
			}
		}
		if len(missing) == 0 {
			t.Logf("every accepted mail delivered %v after the restart", time.Since(restart).Round(time.Millisecond))
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d accepted mails never delivered, e.g. %v", len(missing), len(acceptedBefore), missing[0])
		}
	}
	for i, r := range refreshBefore {
		if status, body, _, err := post(client, url, "/api/session/refresh", nil, r); status != http.StatusOK {
			t.Errorf("refresh token %d of %d issued before the kill: %d %v %v", i+1, len(refreshBefore), status, body, err)
		}
	}
	if status, body, _, _ := post(client, url, "/api/email/link", map[string]string{"token": link}, ""); status != http.StatusGone {
		t.Errorf("the link spent before the kill: %d %v; want 410", status, body)
	}
	if strings.HasPrefix(database, "sqlite:") {
		d, err := sql.Open("sqlite3", "file:"+strings.TrimPrefix(database, "sqlite:")+"?mode=ro")
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		var res string
		if err := d.QueryRowContext(context.Background(), "PRAGMA integrity_check").Scan(&res); err != nil || res != "ok" {
			t.Errorf("integrity_check = %q, %v", res, err)
		}
	}
}
