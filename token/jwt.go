package token

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/sesame-auth/sesame"
)

// Token types, carried in the JWT header's typ. Each verifier accepts only
// its own, so that one kind of token can never stand in for the other
// (RFC 8725 §3.11).
const (
	// TypeAccess is the typ of an access token (RFC 9068 §2.1).
	TypeAccess = "at+jwt"
	// TypeMFA is the typ of an MFA-pending token (SECURITY rule 28).
	TypeMFA = "mfa+jwt"
)

// MaxTokenLength is the longest token parsed; longer ones are refused
// before any decoding (SECURITY rule 30).
const MaxTokenLength = 8 << 10

const defaultMFATTL = 5 * time.Minute

// errInvalid is the one answer to every token that fails verification: it
// says nothing of why, to the client or to an attacker probing.
func errInvalid() error { return sesame.Errorf(sesame.EUnauthorized, "Invalid or expired token.") }

// IssuerOptions configures an Issuer. Zero values take the defaults.
type IssuerOptions struct {
	// Issuer is the public URL, the iss of every token. Required.
	Issuer string
	// Audience is the aud of access tokens; Issuer by default.
	Audience string
	// AccessTTL is the lifetime of access tokens: 10 minutes by default, at
	// most 15 and at most the Keys' AccessTTL (which sets how long a retired
	// key stays published).
	AccessTTL time.Duration
	// MFATTL is the lifetime of MFA-pending tokens: 5 minutes by default,
	// at most the Keys' AccessTTL.
	MFATTL time.Duration
	// Now is the clock for signing and verifying; time.Now by default.
	Now func() time.Time
}

// Issuer signs and verifies access tokens and MFA-pending tokens with the
// keys of a Keys. It is safe for concurrent use.
type Issuer struct {
	keys      *Keys
	issuer    string
	audience  string
	mfaAud    string
	accessTTL time.Duration
	mfaTTL    time.Duration
	now       func() time.Time
	access    *jwt.Parser
	mfa       *jwt.Parser
	// verified remembers access tokens that verified (verified.go).
	verified verifiedTokens
}

// NewIssuer returns an Issuer signing with keys.
func NewIssuer(keys *Keys, opts IssuerOptions) (*Issuer, error) {
	if keys == nil {
		return nil, errors.New("issuer: nil keys")
	}
	if opts.Issuer == "" {
		return nil, errors.New("issuer: Issuer (the public URL) is required")
	}
	is := &Issuer{
		keys:      keys,
		issuer:    opts.Issuer,
		audience:  opts.Audience,
		mfaAud:    strings.TrimSuffix(opts.Issuer, "/") + "/mfa",
		accessTTL: opts.AccessTTL,
		mfaTTL:    opts.MFATTL,
		now:       opts.Now,
	}
	if is.audience == "" {
		is.audience = is.issuer
	}
	if is.accessTTL == 0 {
		is.accessTTL = min(defaultAccessTTL, keys.accessTTL)
	}
	if is.mfaTTL == 0 {
		is.mfaTTL = min(defaultMFATTL, keys.accessTTL)
	}
	if is.now == nil {
		is.now = time.Now
	}
	switch {
	case is.accessTTL < 0 || is.accessTTL > MaxAccessTTL:
		return nil, fmt.Errorf("issuer: access-token lifetime %v outside (0, %v]", is.accessTTL, MaxAccessTTL)
	case is.accessTTL > keys.accessTTL || is.mfaTTL > keys.accessTTL:
		// A retired key would leave the JWKS while its tokens still live.
		return nil, fmt.Errorf("issuer: token lifetimes %v, %v exceed the keys' AccessTTL %v", is.accessTTL, is.mfaTTL, keys.accessTTL)
	case is.mfaTTL < 0:
		return nil, fmt.Errorf("issuer: negative MFA-token lifetime %v", is.mfaTTL)
	case is.audience == is.mfaAud:
		return nil, fmt.Errorf("issuer: audience %q is the MFA tokens' own", is.audience)
	}
	is.access = is.parser(is.audience)
	is.mfa = is.parser(is.mfaAud)
	return is, nil
}

// parser returns the strict parser of SECURITY rule 30 for audience aud.
func (is *Issuer) parser(aud string) *jwt.Parser {
	return jwt.NewParser(
		jwt.WithValidMethods([]string{AlgES256}),
		jwt.WithIssuer(is.issuer),
		jwt.WithAudience(aud),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(), // iat itself is required by the claims' Validate
		jwt.WithLeeway(Leeway),
		jwt.WithTimeFunc(is.now),
		jwt.WithStrictDecoding(),
	)
}

// AccessClaims are the facts an access token carries.
type AccessClaims struct {
	Subject   string // sub: the user id
	SessionID string // sid
	JTI       string
	IssuedAt  time.Time
	ExpiresAt time.Time
	// AuthTime is when the user last proved a factor for the session.
	AuthTime time.Time
	AMR      []string // RFC 8176 values
}

// MFAClaims are the facts an MFA-pending token carries.
type MFAClaims struct {
	Subject   string // sub: the user who gave a correct password
	JTI       string // names the token, for consuming it once
	ExpiresAt time.Time
}

// accessJWT is an access token's claims as written (RFC 9068 §2.2).
type accessJWT struct {
	jwt.RegisteredClaims
	SessionID string           `json:"sid"`
	AuthTime  *jwt.NumericDate `json:"auth_time"`
	AMR       []string         `json:"amr,omitempty"`
}

// Validate requires the claims golang-jwt leaves optional.
func (c *accessJWT) Validate() error {
	if c.Subject == "" || c.ID == "" || c.IssuedAt == nil || c.SessionID == "" || c.AuthTime == nil {
		return errors.New("missing claim")
	}
	return nil
}

// mfaJWT is an MFA-pending token's claims as written.
type mfaJWT struct {
	jwt.RegisteredClaims
	AMR []string `json:"amr"`
}

// Validate requires the claims golang-jwt leaves optional.
func (c *mfaJWT) Validate() error {
	if c.Subject == "" || c.ID == "" || c.IssuedAt == nil || !slices.Equal(c.AMR, mfaAMR) {
		return errors.New("missing claim")
	}
	return nil
}

// mfaAMR is the amr of every MFA-pending token: a password was proved.
var mfaAMR = []string{"pwd"}

// Access signs an access token for the session sessionID of userID, whose
// last factor was proved at authTime with the methods amr.
func (is *Issuer) Access(ctx context.Context, userID, sessionID string, authTime time.Time, amr []string) (string, AccessClaims, error) {
	if userID == "" || sessionID == "" || authTime.IsZero() {
		return "", AccessClaims{}, errors.New("access token: user, session and auth time are required")
	}
	// Whole seconds, as NumericDate carries them, so that the claims
	// returned are exactly those a verifier will read back.
	iat := is.now().Truncate(time.Second).UTC()
	c := AccessClaims{
		Subject:   userID,
		SessionID: sessionID,
		JTI:       sesame.NewID(),
		IssuedAt:  iat,
		ExpiresAt: iat.Add(is.accessTTL),
		AuthTime:  authTime.Truncate(time.Second).UTC(),
		AMR:       slices.Clone(amr),
	}
	raw, err := is.sign(ctx, TypeAccess, &accessJWT{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    is.issuer,
			Subject:   c.Subject,
			Audience:  jwt.ClaimStrings{is.audience},
			ExpiresAt: jwt.NewNumericDate(c.ExpiresAt),
			IssuedAt:  jwt.NewNumericDate(c.IssuedAt),
			ID:        c.JTI,
		},
		SessionID: c.SessionID,
		AuthTime:  jwt.NewNumericDate(c.AuthTime),
		AMR:       c.AMR,
	})
	if err != nil {
		return "", AccessClaims{}, fmt.Errorf("access token: %w", err)
	}
	return raw, c, nil
}

// VerifyAccess checks raw as an access token and returns its claims. Every
// token that fails, for whatever reason, gets the same EUnauthorized error;
// only a failure to load our own keys is an internal error.
func (is *Issuer) VerifyAccess(ctx context.Context, raw string) (AccessClaims, error) {
	if len(raw) > MaxTokenLength {
		return AccessClaims{}, errInvalid()
	}
	key := sha256.Sum256([]byte(raw))
	if v, ok := is.verified.get(key); ok {
		return is.reverify(ctx, key, v)
	}
	var c accessJWT
	kid, err := is.verify(ctx, is.access, TypeAccess, raw, &c)
	if err != nil {
		return AccessClaims{}, err
	}
	claims := AccessClaims{
		Subject:   c.Subject,
		SessionID: c.SessionID,
		JTI:       c.ID,
		IssuedAt:  c.IssuedAt.UTC(),
		ExpiresAt: c.ExpiresAt.UTC(),
		AuthTime:  c.AuthTime.UTC(),
		AMR:       c.AMR,
	}
	is.verified.put(key, verifiedToken{kid: kid, claims: claims}, is.now())
	return claims, nil
}

// reverify checks again what may have changed since a remembered token v
// verified, as the parser would: its times against the clock (with the
// same leeway), and that its key is still one we verify with.
func (is *Issuer) reverify(ctx context.Context, key [sha256.Size]byte, v verifiedToken) (AccessClaims, error) {
	now := is.now()
	if !now.Before(v.claims.ExpiresAt.Add(Leeway)) {
		is.verified.drop(key)
		return AccessClaims{}, errInvalid()
	}
	if now.Add(Leeway).Before(v.claims.IssuedAt) {
		return AccessClaims{}, errInvalid() // a clock set back
	}
	if _, err := is.keys.verifier(ctx, v.kid); errors.Is(err, errUnknownKID) {
		is.verified.drop(key)
		return AccessClaims{}, errInvalid()
	} else if err != nil {
		return AccessClaims{}, fmt.Errorf("verify token: %w", err)
	}
	return v.claims, nil
}

// MFA signs an MFA-pending token for userID, who has just proved a
// password (SECURITY rule 28). Its jti names it for consuming it once.
func (is *Issuer) MFA(ctx context.Context, userID string) (token string, jti string, expiresIn time.Duration, err error) {
	if userID == "" {
		return "", "", 0, errors.New("mfa token: user is required")
	}
	iat := is.now().Truncate(time.Second)
	jti = sesame.NewID()
	token, err = is.sign(ctx, TypeMFA, &mfaJWT{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    is.issuer,
			Subject:   userID,
			Audience:  jwt.ClaimStrings{is.mfaAud},
			ExpiresAt: jwt.NewNumericDate(iat.Add(is.mfaTTL)),
			IssuedAt:  jwt.NewNumericDate(iat),
			ID:        jti,
		},
		AMR: mfaAMR,
	})
	if err != nil {
		return "", "", 0, fmt.Errorf("mfa token: %w", err)
	}
	return token, jti, is.mfaTTL, nil
}

// VerifyMFA checks raw as an MFA-pending token, with the same strictness
// as VerifyAccess, and returns its claims. It does not consume the token:
// the caller does, by its JTI.
func (is *Issuer) VerifyMFA(ctx context.Context, raw string) (MFAClaims, error) {
	var c mfaJWT
	if _, err := is.verify(ctx, is.mfa, TypeMFA, raw, &c); err != nil {
		return MFAClaims{}, err
	}
	return MFAClaims{Subject: c.Subject, JTI: c.ID, ExpiresAt: c.ExpiresAt.UTC()}, nil
}

// sign signs claims as a token of type typ with the current signing key.
func (is *Issuer) sign(ctx context.Context, typ string, claims jwt.Claims) (string, error) {
	k, err := is.keys.signer(ctx)
	if err != nil {
		return "", err
	}
	t := jwt.NewWithClaims(jwt.SigningMethodES256, claims)
	t.Header["typ"] = typ
	t.Header["kid"] = k.kid
	return t.SignedString(k.priv)
}

// verify parses raw with p into claims, checking the header first: typ must
// be exactly typ, kid must name one of our keys, and no critical extension
// may be asked for (RFC 7515 §4.1.11: we understand none). Any jku, x5u or
// jwk header is ignored: keys never come from the token.
func (is *Issuer) verify(ctx context.Context, p *jwt.Parser, typ, raw string, claims jwt.Claims) (kid string, err error) {
	if len(raw) > MaxTokenLength {
		return "", errInvalid()
	}
	var internal error // a failure to load our keys, not the token's fault
	_, err = p.ParseWithClaims(raw, claims, func(t *jwt.Token) (any, error) {
		if h, _ := t.Header["typ"].(string); h != typ {
			return nil, errors.New("wrong typ")
		}
		if _, ok := t.Header["crit"]; ok {
			return nil, errors.New("crit")
		}
		kid, _ = t.Header["kid"].(string)
		pub, err := is.keys.verifier(ctx, kid)
		if err != nil && !errors.Is(err, errUnknownKID) {
			internal = err
		}
		return pub, err
	})
	if internal != nil {
		return "", fmt.Errorf("verify token: %w", internal)
	}
	if err != nil {
		return "", errInvalid()
	}
	return kid, nil
}
