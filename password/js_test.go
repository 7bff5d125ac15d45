package password

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"github.com/sesame-auth/sesame/internal/testkit"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/xdg-go/scram"
)

// nodeModule copies frontend/static/scram.js where Node loads it as an ES
// module and returns its path; it skips the test when node is not on PATH.
func nodeModule(t *testing.T) (node, module string) {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		testkit.Missing(t, "node is not on PATH")
	}
	src, err := os.ReadFile(filepath.Join("..", "frontend", "static", "scram.js"))
	if err != nil {
		t.Fatal(err)
	}
	module = filepath.Join(t.TempDir(), "scram.mjs")
	if err := os.WriteFile(module, src, 0o600); err != nil {
		t.Fatal(err)
	}
	return node, module
}

// TestJSDerivesTheSameKeys runs scram.js's deriveKeys in Node (WebCrypto's
// PBKDF2, HMAC and SHA-256) and compares StoredKey and ServerKey with what
// the Go SCRAM client derives, SASLprep included, for the same password
// and salt.
func TestJSDerivesTheSameKeys(t *testing.T) {
	node, module := nodeModule(t)
	salt := []byte("0123456789abcdef")
	passwords := []string{
		"correct horse battery staple",
		"pass\u00a0w\u00f6rd\u00ad\ufb01", // SASLprep: NBSP → space, soft hyphen → nothing, NFKC ﬁ → fi
		"Cafe\u0301 au lait",              // decomposed é, composed by normalisation
	}
	script := `
import { deriveKeys, preparePassword, PasswordError } from ` + jsString("file://"+module) + `;
const [salt, ...passwords] = JSON.parse(process.argv[1]);
const out = [];
for (const p of passwords) out.push(await deriveKeys(p, salt, 600000));
const refused = [];
for (const p of ["short", "x".repeat(129), "tab\there", "\u0007bell-password"]) {
  try { preparePassword(p); refused.push(false); } catch (e) { refused.push(e instanceof PasswordError); }
}
console.log(JSON.stringify({ out, refused }));
`
	args, _ := json.Marshal(append([]string{base64.StdEncoding.EncodeToString(salt)}, passwords...))
	cmd := exec.Command(node, "--input-type=module", "-e", script, string(args))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start := time.Now()
	stdout, err := cmd.Output()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, stderr.String())
	}
	t.Logf("node derived %d keys in %v", len(passwords), time.Since(start))
	var got struct {
		Out []struct {
			StoredKey  string `json:"stored_key"`
			ServerKey  string `json:"server_key"`
			Iterations int    `json:"iterations"`
		} `json:"out"`
		Refused []bool `json:"refused"`
	}
	if err := json.Unmarshal(stdout, &got); err != nil || len(got.Out) != len(passwords) {
		t.Fatalf("node output %q: %v", stdout, err)
	}
	for i, pw := range passwords {
		cl, err := scram.SHA256.NewClient("a@example.com", pw, "")
		if err != nil {
			t.Fatal(err)
		}
		want := cl.GetStoredCredentials(scram.KeyFactors{Salt: string(salt), Iters: 600000})
		if got.Out[i].StoredKey != base64.StdEncoding.EncodeToString(want.StoredKey) ||
			got.Out[i].ServerKey != base64.StdEncoding.EncodeToString(want.ServerKey) || got.Out[i].Iterations != 600000 {
			t.Errorf("password %q: scram.js gave %+v; want StoredKey %x, ServerKey %x", pw, got.Out[i], want.StoredKey, want.ServerKey)
		}
	}
	for i, r := range got.Refused {
		if !r {
			t.Errorf("preparePassword accepted refused case %d", i)
		}
	}
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
