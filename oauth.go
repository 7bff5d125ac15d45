package sesame

import "time"

// OAuthClient is an application registered to sign its users in with
// Sesame (API.md "Apps signing their users in").
type OAuthClient struct {
	ID   string
	Name string
	// SecretHash is SHA-256 of the client secret; nil for a public client.
	SecretHash             []byte
	RedirectURIs           []string
	PostLogoutRedirectURIs []string
	BackchannelLogoutURI   string
	Public                 bool
	// Trusted clients are first-party: no consent screen.
	Trusted bool
	// RequirePKCE is true unless the operator turned it off for a
	// confidential client whose software cannot send a challenge.
	RequirePKCE bool
	IDTokenAlg  string // "RS256" or "ES256"
	// CIBA lets a confidential client ask for approvals (OpenID CIBA,
	// poll mode; API.md "Approvals").
	CIBA      bool
	CreatedAt time.Time
}

// OAuthRequest is a validated authorization request waiting for the
// /signin page to accept or deny it.
type OAuthRequest struct {
	ID            string
	ClientID      string
	RedirectURI   string
	Scopes        []string
	State         string
	Nonce         string
	CodeChallenge string
	Prompt        string
	// MaxAge is the max_age parameter in seconds; nil when absent.
	MaxAge    *int
	LoginHint string
	// HintSubject is the sub of the request's id_token_hint: only that
	// person may complete it. Empty without a hint.
	HintSubject string
	ACRValues   []string
	UILocales   string
	CreatedAt   time.Time
	ExpiresAt   time.Time
	ConsumedAt  *time.Time
}

// OAuthGrant is what one authorization gave one client: the facts of the
// sign-in behind it, and the tokens issued under it, which all die with it.
type OAuthGrant struct {
	ID        string
	ClientID  string
	UserID    string
	SessionID string
	Scopes    []string
	Nonce     string
	AuthTime  time.Time
	AMR       []string
	ACR       string
	CreatedAt time.Time
	// RedeemedAt is when its code was exchanged for tokens.
	RedeemedAt *time.Time
	RevokedAt  *time.Time
}

// OAuthCode is an authorization code as stored: only its hash.
type OAuthCode struct {
	Hash          []byte
	GrantID       string
	ClientID      string
	RedirectURI   string
	CodeChallenge string
	CreatedAt     time.Time
	ExpiresAt     time.Time
}

// OAuthConsent is a user's approval of a client for some scopes.
type OAuthConsent struct {
	UserID     string
	ClientID   string
	ClientName string
	Scopes     []string
	ApprovedAt time.Time
	LastUsedAt *time.Time
}

// OAuthLogout is an RP-initiated logout request waiting for the sign-out
// page.
type OAuthLogout struct {
	ID          string
	ClientID    string // "" when no client was named
	RedirectURI string // a registered post_logout_redirect_uri, or ""
	State       string
	CreatedAt   time.Time
	ExpiresAt   time.Time
}

// OAuthLogoutDelivery is a Back-Channel Logout token owed to a client for
// one ended Sesame session: stored when the session's grants are revoked,
// sent by any instance until delivered or given up.
type OAuthLogoutDelivery struct {
	ClientID  string
	SessionID string
	UserID    string
	Status    string // LogoutQueued, LogoutDelivered or LogoutFailed
	Attempts  int    // tries so far, this one included once claimed
	CreatedAt time.Time
}

// Statuses of an OAuthLogoutDelivery.
const (
	LogoutQueued    = "queued"
	LogoutDelivered = "delivered"
	LogoutFailed    = "failed"
)

// ErrOAuthCodeReplayed is returned when an authorization code that was
// already spent comes back: the grant its first redemption produced has
// been revoked (RFC 6749 §4.1.2).
var ErrOAuthCodeReplayed = &Error{Code: EUsed, Message: "The code was already used."}

// CIBA request states.
const (
	CIBAPending  = "pending"
	CIBAApproved = "approved"
	CIBADenied   = "denied"
	// CIBAExpired is a pending request found past its expiry.
	CIBAExpired = "expired"
)

// CIBARequest is one backchannel authentication request: an app asking a
// person to approve one exact message. Only SHA-256 of its auth_req_id is
// kept (Hash); ID is the public name the person's approval calls use.
type CIBARequest struct {
	ID       string
	Hash     []byte
	ClientID string
	// ClientName is filled by the reads that join the client.
	ClientName string
	// UserID is empty when the login_hint named nobody; HintHash is then
	// SHA-256 of the normalised hint, which the cap of pending approvals
	// per person counts instead.
	UserID         string
	HintHash       []byte
	Scopes         []string
	BindingMessage string
	ACRValues      []string
	Status         string
	// AMR is how the person approved.
	AMR          []string
	CreatedAt    time.Time
	ExpiresAt    time.Time
	DecidedAt    *time.Time
	LastPolledAt *time.Time
	RedeemedAt   *time.Time
	// LinkHash is SHA-256 of the token of the link emailed to the person
	// (nil when nobody was named); LinkUsedAt is when a decision was made
	// through it.
	LinkHash   []byte
	LinkUsedAt *time.Time
}
