package sesame

import "time"

// MaxCredentialIDLength is the longest WebAuthn credential id accepted, in
// bytes (WebAuthn L3 §7.1 step 25).
const MaxCredentialIDLength = 1023

// Credential is a passkey or security key as stored: the WebAuthn credential
// record of WebAuthn L3 §4 ("credential record"), its owner and the name the
// user knows it by.
type Credential struct {
	// ID is the credential id the authenticator chose; unique across all
	// users.
	ID     []byte
	UserID string
	Name   string
	// PublicKey is the COSE_Key from the attested credential data.
	PublicKey []byte
	// SignCount is the last signature counter seen (WebAuthn L3 §6.1.1).
	SignCount uint32
	// AAGUID names the authenticator model; all zero when it is not told.
	AAGUID []byte
	// Transports are the client's hints for reaching the authenticator
	// ("internal", "hybrid", "usb", "nfc", "ble").
	Transports []string
	// Attachment is "platform", "cross-platform" or "" when not told.
	Attachment        string
	AttestationType   string
	AttestationFormat string
	// UserVerified is the record's uvInitialized: the authenticator has
	// verified the user at least once for this credential.
	UserVerified bool
	// BackupEligible (BE) says the credential may be synced; it never
	// changes. BackupState (BS) says it is synced now (WebAuthn L3 §6.1.3).
	BackupEligible bool
	BackupState    bool
	// Discoverable is the client's credProps.rk at registration: whether
	// the credential is a discoverable one (a passkey that signs in
	// without an email); nil when the client did not say.
	Discoverable *bool
	CreatedAt    time.Time
	// LastUsedAt is the last successful sign-in, nil before the first.
	LastUsedAt *time.Time
}

// WebAuthn ceremony types. A ceremony begun as one type can only be
// finished as that type (SECURITY rule 1).
const (
	CeremonyRegistration = "registration"
	CeremonyLogin        = "login"
	CeremonyMFA          = "mfa"
	// CeremonyApproval is a passkey assertion approving one CIBA request.
	CeremonyApproval = "approval"
)

// Ceremony is the server side of one WebAuthn ceremony between its begin
// and its finish: the relying party's session data, stored whole and opaque,
// bound to its type and, where one is known, its user. It is single-use.
type Ceremony struct {
	ID   string
	Type string
	// UserID is the user the ceremony is for; "" for a discoverable login,
	// and for an email-first login of an address without an account.
	UserID string
	// Session is the relying party's session data (go-webauthn's
	// SessionData as JSON). It holds the challenge: never log it.
	Session    []byte
	CreatedAt  time.Time
	ExpiresAt  time.Time
	ConsumedAt *time.Time
}
