package server_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/sesame-auth/sesame/internal/testauthn"
	"github.com/sesame-auth/sesame/internal/testserver"
)

// TestMeNamesTheWebAuthnUserHandle: /api/me carries the user handle the
// passkeys were made for, which the account page's WebAuthn signals name
// the account by; and a passkey is named by its provider's AAGUID.
func TestMeNamesTheWebAuthnUserHandle(t *testing.T) {
	e := testserver.New(t, testserver.Options{})
	s := e.SignIn(t, "una@example.com")
	c := testauthn.Begin(t, e, "/api/webauthn/register/begin", map[string]any{}, testserver.Bearer(s.Access))
	var options struct {
		User struct{ ID string } `json:"user"`
	}
	if err := json.Unmarshal(c.PublicKey, &options); err != nil || options.User.ID == "" {
		t.Fatalf("registration options %s: %v", c.PublicKey, err)
	}
	a := testauthn.New(e.PublicURL)
	a.AAGUID = [16]byte{0xba, 0xda, 0x55, 0x66, 0xa7, 0xaa, 0x40, 0x1f, 0xbd, 0x96, 0x45, 0x61, 0x9a, 0x55, 0x12, 0x0d} // 1Password
	testauthn.Register(t, e, a, s.Access)

	me := e.Do(t, "GET", "/api/me", nil, testserver.Bearer(s.Access))
	if me.Status != http.StatusOK {
		t.Fatalf("GET /api/me = %d %s", me.Status, me.Body)
	}
	body := me.JSON(t)
	if got := body["webauthn_user_id"]; got != options.User.ID {
		t.Errorf("/api/me webauthn_user_id = %v; want the registration's user.id %q", got, options.User.ID)
	}
	creds, _ := body["credentials"].([]any)
	if len(creds) != 1 || creds[0].(map[string]any)["name"] != "1Password" {
		t.Errorf("credentials = %v; want one named 1Password", creds)
	}
}
