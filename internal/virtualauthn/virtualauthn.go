// Package virtualauthn is a pure-Go WebAuthn authenticator for tests, the
// load tool and anything else that needs real passkey payloads without a
// browser. It wraps github.com/descope/virtualwebauthn, which makes
// "packed" self-attestation and signed assertions, and fills in what that
// library leaves out (TESTING.md): transports, authenticatorAttachment,
// clientExtensionResults, the user handle of discoverable sign-ins, and EC2
// keys whose coordinates are short, which it would encode wrongly.
//
// It imports nothing of Sesame's server, storage or test harness, so the
// load tool links only the client side; internal/testauthn adds the
// helpers that drive a testserver.Env.
package virtualauthn

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"

	"github.com/descope/virtualwebauthn"
)

// Options shape what the authenticator reports. The zero value is a
// device-bound authenticator (BE=0) that verifies the user, with a sign
// counter that stays 0.
type Options struct {
	// BackupEligible and BackupState are the BE and BS flags: a synced
	// passkey has both.
	BackupEligible bool
	BackupState    bool
	// UserNotPresent clears UP; UserNotVerified clears UV.
	UserNotPresent  bool
	UserNotVerified bool
	// CountSignatures makes every assertion increase the credential's sign
	// counter, as security keys do; synced passkeys keep it at 0.
	CountSignatures bool
	// RSA makes new credentials RS256 keys instead of ES256.
	RSA bool
	// UserHandle, when set, is sent in assertions instead of the
	// credential's own; OmitUserHandle sends none.
	UserHandle     []byte
	OmitUserHandle bool
	// Transports are reported for new credentials; nil means
	// ["hybrid", "internal"], as a phone or laptop platform authenticator.
	Transports []string
	// Attachment is reported as authenticatorAttachment; "" means
	// "platform".
	Attachment string
	// IDLength, when set, is the length of new credentials' ids (32
	// otherwise); security keys often make 64-byte ones.
	IDLength int
}

// Credential is one key the authenticator holds.
type Credential struct {
	virtualwebauthn.Credential
	// UserHandle is the user.id of the registration that made it.
	UserHandle []byte

	signer   *ecdsa.PrivateKey // Key parsed, if EC2
	signerOf []byte            // the Key.Data signer was parsed from
}

// IDString is the credential id as the API writes it: base64url.
func (c *Credential) IDString() string { return base64.RawURLEncoding.EncodeToString(c.ID) }

// PrivateKey is the PKCS#8 private key, which Chromium's
// WebAuthn.addCredential takes.
func (c *Credential) PrivateKey() []byte { return c.Key.Data }

// Authenticator holds credentials for one relying party. It is not safe for
// concurrent use.
type Authenticator struct {
	// RP is what responses are made for: RP.ID's hash goes into authData and
	// RP.Origin into clientDataJSON. Tests change them to forge responses.
	RP      virtualwebauthn.RelyingParty
	Options Options
	// AAGUID names the authenticator model; New picks a random one.
	AAGUID      [16]byte
	Credentials []*Credential
}

// New returns an authenticator for the site at origin
// ("http://localhost:8080"); the RP ID is origin's host.
func New(origin string) *Authenticator {
	u, err := url.Parse(origin)
	if err != nil || u.Hostname() == "" {
		panic(fmt.Sprintf("virtualauthn: origin %q is not a URL", origin))
	}
	a := &Authenticator{RP: virtualwebauthn.RelyingParty{ID: u.Hostname(), Name: "Sesame", Origin: origin}}
	a.AAGUID = virtualwebauthn.NewAuthenticator().Aaguid
	return a
}

// ErrExcluded is what Create answers when options list one of its
// credentials in excludeCredentials (the browser's InvalidStateError).
var ErrExcluded = errors.New("virtualauthn: the authenticator already holds a credential for this account")

// ErrNoCredential is what Get answers when it holds no usable credential.
var ErrNoCredential = errors.New("virtualauthn: no credential for these options")

// Create answers creation options (PublicKeyCredentialCreationOptionsJSON,
// bare or inside {"publicKey": …} as the API sends it) with a new
// credential: the JSON PublicKeyCredential.toJSON() would give.
func (a *Authenticator) Create(options []byte) ([]byte, error) {
	opts, err := virtualwebauthn.ParseAttestationOptions(string(options))
	if err != nil {
		return nil, fmt.Errorf("virtualauthn: creation options: %w", err)
	}
	for _, c := range a.Credentials {
		if c.IsExcludedForAttestation(*opts) {
			return nil, ErrExcluded
		}
	}
	cred := &Credential{Credential: newKeyCredential(a.Options.RSA), UserHandle: []byte(opts.UserID)}
	if a.Options.IDLength > 0 {
		cred.ID = make([]byte, a.Options.IDLength)
		if _, err := rand.Read(cred.ID); err != nil {
			return nil, err
		}
	}
	resp, err := a.CreateWith(options, cred)
	if err != nil {
		return nil, err
	}
	a.Credentials = append(a.Credentials, cred)
	return resp, nil
}

// CreateWith answers creation options with the given credential, as if it
// were new, ignoring excludeCredentials: to register one credential twice.
func (a *Authenticator) CreateWith(options []byte, cred *Credential) ([]byte, error) {
	opts, err := virtualwebauthn.ParseAttestationOptions(string(options))
	if err != nil {
		return nil, fmt.Errorf("virtualauthn: creation options: %w", err)
	}
	resp := virtualwebauthn.CreateAttestationResponse(a.RP, a.vw(nil), cred.Credential, *opts)
	transports := a.Options.Transports
	if transports == nil {
		transports = []string{"hybrid", "internal"}
	}
	return a.complete(resp, func(r map[string]any) { r["transports"] = transports })
}

// Get answers request options (PublicKeyCredentialRequestOptionsJSON, bare
// or inside {"publicKey": …}) with an assertion. With allowCredentials it
// uses the first credential listed that it holds; without, as in a
// discoverable sign-in, the newest credential it holds for the RP.
func (a *Authenticator) Get(options []byte) ([]byte, error) {
	opts, err := virtualwebauthn.ParseAssertionOptions(string(options))
	if err != nil {
		return nil, fmt.Errorf("virtualauthn: request options: %w", err)
	}
	var cred *Credential
	if len(opts.AllowCredentials) > 0 {
		for _, c := range a.Credentials {
			if c.IsAllowedForAssertion(*opts) {
				cred = c
				break
			}
		}
	} else if n := len(a.Credentials); n > 0 {
		cred = a.Credentials[n-1]
	}
	if cred == nil {
		return nil, ErrNoCredential
	}
	return a.get(opts, cred)
}

// GetDiscoverable answers a discoverable request (options without
// allowCredentials) for challenge, the decoded challenge, as Get would:
// with the newest credential it holds. It saves reading the options' JSON
// for a caller that has the challenge.
func (a *Authenticator) GetDiscoverable(challenge []byte) ([]byte, error) {
	n := len(a.Credentials)
	if n == 0 {
		return nil, ErrNoCredential
	}
	if len(challenge) == 0 {
		return nil, errors.New("virtualauthn: request options: no challenge")
	}
	return a.get(&virtualwebauthn.AssertionOptions{Challenge: challenge}, a.Credentials[n-1])
}

// GetWith answers request options with the given credential, whether or
// not the options allow it.
func (a *Authenticator) GetWith(options []byte, cred *Credential) ([]byte, error) {
	opts, err := virtualwebauthn.ParseAssertionOptions(string(options))
	if err != nil {
		return nil, fmt.Errorf("virtualauthn: request options: %w", err)
	}
	return a.get(opts, cred)
}

func (a *Authenticator) get(opts *virtualwebauthn.AssertionOptions, cred *Credential) ([]byte, error) {
	if a.Options.CountSignatures {
		cred.Counter++
	}
	handle := cred.UserHandle
	if a.Options.UserHandle != nil {
		handle = a.Options.UserHandle
	}
	if a.Options.OmitUserHandle {
		handle = nil
	}
	if key := cred.ecKey(); key != nil {
		return a.assert(opts.Challenge, cred, key, handle)
	}
	resp := virtualwebauthn.CreateAssertionResponse(a.RP, a.vw(handle), cred.Credential, *opts)
	return a.complete(resp, nil)
}

// ecKey is cred's EC2 private key, parsed once (virtualwebauthn parses the
// PKCS#8 key again for every signature, which costs more than the
// signature); nil for other keys.
func (c *Credential) ecKey() *ecdsa.PrivateKey {
	if c.Key == nil || c.Key.Type != virtualwebauthn.KeyTypeEC2 {
		return nil
	}
	if c.signer == nil || !bytes.Equal(c.signerOf, c.Key.Data) {
		k, err := x509.ParsePKCS8PrivateKey(c.Key.Data)
		ec, ok := k.(*ecdsa.PrivateKey)
		if err != nil || !ok {
			return nil // the library's path panics as it always did
		}
		c.signer, c.signerOf = ec, bytes.Clone(c.Key.Data)
	}
	return c.signer
}

// assert makes the assertion virtualwebauthn.CreateAssertionResponse
// makes, completed as complete completes it, in one pass: clientDataJSON,
// authenticatorData (RP ID hash, flags, counter) and the ES256 signature
// over authenticatorData ‖ SHA-256(clientDataJSON), fresh each time.
func (a *Authenticator) assert(challenge []byte, cred *Credential, key *ecdsa.PrivateKey, handle []byte) ([]byte, error) {
	clientData, err := json.Marshal(struct {
		Type      string `json:"type"`
		Challenge string `json:"challenge"`
		Origin    string `json:"origin"`
	}{"webauthn.get", base64.RawURLEncoding.EncodeToString(challenge), a.RP.Origin})
	if err != nil {
		return nil, fmt.Errorf("virtualauthn: %w", err)
	}
	var authData [37]byte
	rpIDHash := sha256.Sum256([]byte(a.RP.ID))
	copy(authData[:32], rpIDHash[:])
	o := a.Options
	if !o.UserNotPresent {
		authData[32] |= 1 << 0
	}
	if !o.UserNotVerified {
		authData[32] |= 1 << 2
	}
	if o.BackupEligible {
		authData[32] |= 1 << 3
	}
	if o.BackupState {
		authData[32] |= 1 << 4
	}
	binary.BigEndian.PutUint32(authData[33:], cred.Counter)
	h := sha256.New()
	h.Write(authData[:])
	clientDataHash := sha256.Sum256(clientData)
	h.Write(clientDataHash[:])
	sig, err := ecdsa.SignASN1(rand.Reader, key, h.Sum(nil))
	if err != nil {
		return nil, fmt.Errorf("virtualauthn: sign: %w", err)
	}
	attachment := o.Attachment
	if attachment == "" {
		attachment = "platform"
	}
	b64 := base64.RawURLEncoding
	id := b64.EncodeToString(cred.ID)
	out := make([]byte, 0, 512+2*len(clientData)+len(id)+2*len(handle))
	out = append(out, `{"authenticatorAttachment":`...)
	out = appendJSONString(out, attachment)
	out = append(out, `,"clientExtensionResults":{},"id":"`...)
	out = append(out, id...)
	out = append(out, `","rawId":"`...)
	out = append(out, id...)
	out = append(out, `","response":{"authenticatorData":"`...)
	out = b64.AppendEncode(out, authData[:])
	out = append(out, `","clientDataJSON":"`...)
	out = b64.AppendEncode(out, clientData)
	out = append(out, `","signature":"`...)
	out = b64.AppendEncode(out, sig)
	if len(handle) > 0 {
		out = append(out, `","userHandle":"`...)
		out = b64.AppendEncode(out, handle)
	}
	out = append(out, `"},"type":"public-key"}`...)
	return out, nil
}

func appendJSONString(b []byte, s string) []byte {
	q, _ := json.Marshal(s) // a string always marshals
	return append(b, q...)
}

// vw is the library's authenticator with the current options.
func (a *Authenticator) vw(userHandle []byte) virtualwebauthn.Authenticator {
	return virtualwebauthn.Authenticator{
		Aaguid: a.AAGUID,
		Options: virtualwebauthn.AuthenticatorOptions{
			UserHandle:      userHandle,
			UserNotPresent:  a.Options.UserNotPresent,
			UserNotVerified: a.Options.UserNotVerified,
			BackupEligible:  a.Options.BackupEligible,
			BackupState:     a.Options.BackupState,
		},
	}
}

// complete adds the members of PublicKeyCredential.toJSON() that
// virtualwebauthn leaves out; edit changes the response member.
func (a *Authenticator) complete(resp string, edit func(response map[string]any)) ([]byte, error) {
	var m map[string]any
	if err := json.Unmarshal([]byte(resp), &m); err != nil {
		return nil, fmt.Errorf("virtualauthn: %w", err)
	}
	attachment := a.Options.Attachment
	if attachment == "" {
		attachment = "platform"
	}
	m["authenticatorAttachment"] = attachment
	m["clientExtensionResults"] = map[string]any{}
	if edit != nil {
		edit(m["response"].(map[string]any))
	}
	return json.Marshal(m)
}

// newKeyCredential makes a credential, regenerating EC2 keys with an X or
// Y coordinate that has a leading zero byte: virtualwebauthn encodes those
// short and go-webauthn rightly rejects them, about once in 128 keys.
func newKeyCredential(rsa bool) virtualwebauthn.Credential {
	if rsa {
		return virtualwebauthn.NewCredential(virtualwebauthn.KeyTypeRSA)
	}
	for {
		c := virtualwebauthn.NewCredential(virtualwebauthn.KeyTypeEC2)
		k, err := x509.ParsePKCS8PrivateKey(c.Key.Data)
		if err != nil {
			panic(fmt.Sprintf("virtualauthn: generated key: %v", err))
		}
		pub, err := k.(*ecdsa.PrivateKey).PublicKey.Bytes() // 0x04 ‖ X ‖ Y, each 32 bytes
		if err != nil {
			panic(fmt.Sprintf("virtualauthn: generated key: %v", err))
		}
		if pub[1] != 0 && pub[33] != 0 {
			return c
		}
	}
}
