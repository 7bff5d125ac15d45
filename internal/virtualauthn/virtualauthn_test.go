package virtualauthn

import (
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	"github.com/descope/virtualwebauthn"
	"github.com/fxamacker/cbor/v2"
)

// TestNoShortCoordinates: 1,000 new EC2 keys all encode 32-byte X and Y
// (without the regeneration about 8 of them would not).
func TestNoShortCoordinates(t *testing.T) {
	for range 1000 {
		c := newKeyCredential(false)
		var key map[int]any
		if err := cbor.Unmarshal(c.Key.AttestationData(), &key); err != nil {
			t.Fatal(err)
		}
		if x, y := key[-2].([]byte), key[-3].([]byte); len(x) != 32 || len(y) != 32 {
			t.Fatalf("key with %d-byte X and %d-byte Y", len(x), len(y))
		}
	}
}

func TestCreateAndGet(t *testing.T) {
	a := New("http://localhost:8080")
	if a.RP.ID != "localhost" {
		t.Fatalf("RP ID = %q", a.RP.ID)
	}
	handle := base64.RawURLEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))
	options := []byte(`{"ceremony_id":"x","publicKey":{"rp":{"id":"localhost","name":"Sesame"},"user":{"id":"` + handle +
		`","name":"a","displayName":"a"},"challenge":"AAAAAAAAAAAAAAAAAAAAAA","pubKeyCredParams":[{"type":"public-key","alg":-7}]}}`)
	resp, err := a.Create(options)
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		ID                      string
		AuthenticatorAttachment string
		ClientExtensionResults  map[string]any
		Response                struct{ Transports []string }
	}
	if err := json.Unmarshal(resp, &m); err != nil || m.ID != a.Credentials[0].IDString() || m.AuthenticatorAttachment != "platform" ||
		m.ClientExtensionResults == nil || len(m.Response.Transports) != 2 {
		t.Fatalf("Create = %s, %v", resp, err)
	}
	if string(a.Credentials[0].UserHandle) != "0123456789abcdef0123456789abcdef" {
		t.Errorf("user handle = %q", a.Credentials[0].UserHandle)
	}
	excluded := []byte(`{"publicKey":{"rp":{"id":"localhost"},"user":{"id":"` + handle + `"},"challenge":"AAAAAAAAAAAAAAAAAAAAAA",` +
		`"excludeCredentials":[{"type":"public-key","id":"` + m.ID + `"}]}}`)
	if _, err := a.Create(excluded); !errors.Is(err, ErrExcluded) {
		t.Errorf("Create(excluded) = %v; want ErrExcluded", err)
	}
	if _, err := a.Get([]byte(`{"challenge":"AAAAAAAAAAAAAAAAAAAAAA","allowCredentials":[{"type":"public-key","id":"AAAA"}]}`)); !errors.Is(err, ErrNoCredential) {
		t.Errorf("Get(other credential) = %v; want ErrNoCredential", err)
	}
	resp, err = a.Get([]byte(`{"challenge":"AAAAAAAAAAAAAAAAAAAAAA","rpId":"localhost"}`))
	if err != nil {
		t.Fatal(err)
	}
	var g struct{ Response struct{ UserHandle string } }
	if err := json.Unmarshal(resp, &g); err != nil || g.Response.UserHandle != handle {
		t.Errorf("discoverable Get = %s, %v; want the user handle", resp, err)
	}
}

// TestAssertMatchesLibrary: the one-pass ES256 assertion has every member
// of the library's, completed, with the same values but the signature, and
// the signature verifies over authenticatorData ‖ SHA-256(clientDataJSON)
// with the credential's public key; a new assertion has a new signature.
func TestAssertMatchesLibrary(t *testing.T) {
	a := New("http://localhost:8080")
	a.Options = Options{BackupEligible: true, BackupState: true, CountSignatures: true}
	cred := &Credential{Credential: newKeyCredential(false), UserHandle: []byte("handle")}
	a.Credentials = append(a.Credentials, cred)
	options := []byte(`{"publicKey":{"challenge":"AAECAwQFBgcICQoLDA0ODw","rpId":"localhost"}}`)
	fast, err := a.Get(options)
	if err != nil {
		t.Fatal(err)
	}
	opts, err := virtualwebauthn.ParseAssertionOptions(string(options))
	if err != nil {
		t.Fatal(err)
	}
	lib, err := a.complete(virtualwebauthn.CreateAssertionResponse(a.RP, a.vw(cred.UserHandle), cred.Credential, *opts), nil)
	if err != nil {
		t.Fatal(err)
	}
	var f, l map[string]any
	if err := json.Unmarshal(fast, &f); err != nil {
		t.Fatalf("%s: %v", fast, err)
	}
	if err := json.Unmarshal(lib, &l); err != nil {
		t.Fatal(err)
	}
	fr, lr := f["response"].(map[string]any), l["response"].(map[string]any)
	sig := fr["signature"].(string)
	delete(fr, "signature")
	delete(lr, "signature")
	if !reflect.DeepEqual(f, l) {
		t.Errorf("assertion\n%s\nwant (but the signature)\n%s", fast, lib)
	}
	b64 := base64.RawURLEncoding
	authData, _ := b64.DecodeString(fr["authenticatorData"].(string))
	clientData, _ := b64.DecodeString(fr["clientDataJSON"].(string))
	rawSig, _ := b64.DecodeString(sig)
	h := sha256.Sum256(clientData)
	digest := sha256.Sum256(append(authData, h[:]...))
	if !ecdsa.VerifyASN1(&cred.ecKey().PublicKey, digest[:], rawSig) {
		t.Error("the signature does not verify")
	}
	again, err := a.GetDiscoverable([]byte("\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f"))
	if err != nil {
		t.Fatal(err)
	}
	var g struct {
		Response struct{ ClientDataJSON, Signature string }
	}
	if err := json.Unmarshal(again, &g); err != nil || g.Response.Signature == sig || g.Response.ClientDataJSON != fr["clientDataJSON"] {
		t.Errorf("GetDiscoverable: %s, %v; want the same client data (challenge) and a new signature", again, err)
	}
}
