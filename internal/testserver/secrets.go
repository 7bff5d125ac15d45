package testserver

import (
	"encoding/json"
	"strings"
	"sync"
	"testing"

	"github.com/sesame-auth/sesame/internal/mailparse"
	"github.com/sesame-auth/sesame/internal/testsmtp"
)

// secrets collects every secret a test's client sees — tokens, refresh
// cookies, link tokens, WebAuthn challenges and signatures, SCRAM proofs —
// so that, when the test ends, the server's log can be searched for them
// (SECURITY rule 39). Every test built on Env checks this for free.
type secrets struct {
	mu   sync.Mutex
	seen map[string]bool
}

func (s *secrets) add(v string) {
	if len(v) < 16 { // ids and codes are checked by dedicated tests
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.seen == nil {
		s.seen = map[string]bool{}
	}
	s.seen[v] = true
}

// secretKeys are the JSON members whose values are secrets.
var secretKeys = map[string]bool{
	"access_token": true, "mfa_token": true, "token": true, "challenge": true,
	"signature": true, "clientDataJSON": true, "stored_key": true, "server_key": true,
	"secret": true, "otpauth_uri": true, "auth_req_id": true,
}

// collectJSON adds the secret members of a JSON document, at any depth, and
// the proof of a SCRAM client-final message.
func (s *secrets) collectJSON(body []byte) {
	var v any
	if json.Unmarshal(body, &v) != nil {
		return
	}
	var walk func(key string, v any)
	walk = func(key string, v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, child := range x {
				walk(k, child)
			}
		case []any:
			for _, child := range x {
				walk(key, child)
			}
		case string:
			if secretKeys[key] {
				s.add(x)
			}
			if key == "client_final" {
				if i := strings.Index(x, ",p="); i >= 0 {
					s.add(x[i+3:])
				}
			}
		}
	}
	walk("", v)
}

// collectMail adds the link token of every message delivered so far.
func (s *secrets) collectMail(box *testsmtp.Server) {
	for _, m := range box.Messages() {
		s.add(testsmtp.ExtractLinkToken(m.Text))
		s.add(mailparse.ExtractApprovalToken(m.Text))
	}
}

// check fails t if the log holds any collected secret.
func (s *secrets) check(t testing.TB, logs string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for v := range s.seen {
		if strings.Contains(logs, v) {
			t.Errorf("a secret the client saw is in the server log: %.12s…", v)
		}
	}
}
