package webauthn

import (
	"encoding/base64"
	"encoding/hex"
	"slices"

	"github.com/go-webauthn/webauthn/protocol"
	gowebauthn "github.com/go-webauthn/webauthn/webauthn"

	"github.com/sesame-auth/sesame"
)

// user is a sesame.User as go-webauthn sees it.
type user struct {
	u     sesame.User
	creds []gowebauthn.Credential
}

func newUser(u sesame.User, creds []sesame.Credential) *user {
	out := &user{u: u, creds: make([]gowebauthn.Credential, len(creds))}
	for i, c := range creds {
		out.creds[i] = toLibrary(c)
	}
	return out
}

// WebAuthnID is the user handle: 32 random bytes with no personal data
// (WebAuthn L3 §14.6.1).
func (u *user) WebAuthnID() []byte                           { return u.u.WebAuthnHandle }
func (u *user) WebAuthnName() string                         { return u.u.Email }
func (u *user) WebAuthnDisplayName() string                  { return u.u.Email }
func (u *user) WebAuthnCredentials() []gowebauthn.Credential { return u.creds }

// toLibrary turns a stored credential record back into go-webauthn's form.
func toLibrary(c sesame.Credential) gowebauthn.Credential {
	flags := protocol.FlagUserPresent
	if c.UserVerified {
		flags |= protocol.FlagUserVerified
	}
	if c.BackupEligible {
		flags |= protocol.FlagBackupEligible
	}
	if c.BackupState {
		flags |= protocol.FlagBackupState
	}
	// Sorted, as browsers report them, so that the order a client sent
	// them in at registration does not mark the account (SECURITY rule 55).
	transports := make([]protocol.AuthenticatorTransport, len(c.Transports))
	for i, t := range slices.Sorted(slices.Values(c.Transports)) {
		transports[i] = protocol.AuthenticatorTransport(t)
	}
	return gowebauthn.Credential{
		ID:                c.ID,
		PublicKey:         c.PublicKey,
		AttestationType:   c.AttestationType,
		AttestationFormat: c.AttestationFormat,
		Transport:         transports,
		Flags:             gowebauthn.NewCredentialFlags(flags),
		Authenticator: gowebauthn.Authenticator{
			AAGUID:     c.AAGUID,
			SignCount:  c.SignCount,
			Attachment: protocol.AuthenticatorAttachment(c.Attachment),
		},
	}
}

// CredentialID is the textual form of a credential id: base64url without
// padding, as in the JSON forms and the API's paths.
func CredentialID(id []byte) string { return base64.RawURLEncoding.EncodeToString(id) }

// ParseCredentialID reads the textual form of a credential id; not_found
// when it is not one, as no credential can have it.
func ParseCredentialID(s string) ([]byte, error) {
	id, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(id) == 0 || len(id) > sesame.MaxCredentialIDLength {
		return nil, errNoCredential
	}
	return id, nil
}

// AAGUIDString formats an AAGUID as a UUID ("fbfc3007-154e-…"); "" unless
// it is 16 bytes.
func AAGUIDString(b []byte) string {
	if len(b) != 16 {
		return ""
	}
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}
