package webauthn

import (
	"encoding/base64"
	"encoding/hex"

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
	transports := make([]protocol.AuthenticatorTransport, len(c.Transports))
	for i, t := range c.Transports {
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

// KnownAuthenticator names a few common authenticators by AAGUID, as
// collected by the passkey-authenticator-aaguids list; "" for others and
// for the all-zero AAGUID that attestation "none" often brings.
func KnownAuthenticator(aaguid []byte) string {
	switch AAGUIDString(aaguid) {
	case "fbfc3007-154e-4ecc-8c0b-6e020557d7bd", "dd4ec289-e01d-41c9-bb89-70fa845d4bf2":
		return "iCloud Keychain"
	case "ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4":
		return "Google Password Manager"
	case "adce0002-35bc-c60a-648b-0b25f1f05503":
		return "Chrome on Mac"
	case "08987058-cadc-4b81-b6e1-30de50dcbe96", "9ddd1817-af5a-4672-a2b9-3e3dd95000a9", "6028b017-b1d4-4c02-b4b3-afcdafc96bb2":
		return "Windows Hello"
	case "771b48fd-d3d4-4f74-9232-fc157ab0507a":
		return "Microsoft Password Manager"
	case "bada5566-a7aa-401f-bd96-45619a55120d":
		return "1Password"
	case "d548826e-79b4-db40-a3d8-11116f7e8349":
		return "Bitwarden"
	case "531126d6-e717-415c-9320-3d9aa6981239":
		return "Dashlane"
	case "fdb141b2-5d84-443e-8a35-4698c205a502":
		return "KeePassXC"
	case "53414d53-554e-4700-0000-000000000000":
		return "Samsung Pass"
	case "50726f74-6f6e-5061-7373-50726f746f6e":
		return "Proton Pass"
	case "cb69481e-8ff7-4039-93ec-0a2729a154a8", "ee882879-721c-4913-9775-3dfcce97072a",
		"fa2b99dc-9e39-4257-8f92-4a30d23c4118", "2fc0579f-8113-47ea-b116-bb5a8db9202a",
		"c5ef55ff-ad9a-4b9f-b580-adebafe026d0", "a25342c0-3cdc-4414-8e46-f4807fca511c",
		"19083c3d-8383-4b18-bc03-8f1c9ab2fd1b":
		return "YubiKey 5"
	case "d8522d9f-575b-4866-88a9-ba99fa02f35b":
		return "YubiKey Bio"
	case "f8a011f3-8c0a-4d15-8006-17111f9edc7d":
		return "Security Key by Yubico"
	}
	return ""
}
