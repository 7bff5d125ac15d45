package password

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/xdg-go/scram"

	"github.com/sesame-auth/sesame"
)

// Message limits. Real messages are a few hundred bytes.
const (
	maxMessageLength = 1024
	minNonceLength   = 8
	maxNonceLength   = 256
	// serverNonceBytes is 144 bits of server nonce (SECURITY rule 22: 128+),
	// sent as serverNonceLength characters of unpadded base64url.
	serverNonceBytes  = 18
	serverNonceLength = 24
	// keyLength is the size of StoredKey, ServerKey and a proof: SHA-256.
	keyLength = sha256.Size
)

// gs2Header is the only GS2 header accepted: no channel binding (browsers
// cannot bind) and no authorization identity (SECURITY rule 23).
const gs2Header = "n,,"

// cbindGS2 is c= of a client-final message with header n,,: its base64.
var cbindGS2 = base64.StdEncoding.EncodeToString([]byte(gs2Header))

var (
	errInvalidCredentials = sesame.Errorf(sesame.EInvalidCredentials, "The email address or password is not right.")
	errLoginExpired       = sesame.Errorf(sesame.EExpired, "The sign-in took too long. Try again.")
	errLoginUsed          = sesame.Errorf(sesame.EUsed, "This sign-in attempt was already used. Try again.")
)

// clientFirst is a parsed client-first message (RFC 5802 §7).
type clientFirst struct {
	username string // decoded saslname, before SASLprep
	nonce    string
}

// parseClientFirst parses "n,,n=<saslname>,r=<nonce>" strictly: the GS2
// header n,, only, no reserved m= and no extensions. Every failure is
// EBadRequest.
func parseClientFirst(msg string) (clientFirst, error) {
	bad := func(why string) (clientFirst, error) {
		return clientFirst{}, sesame.Errorf(sesame.EBadRequest, "client_first is not a SCRAM-SHA-256 client-first message: %s.", why)
	}
	switch {
	case len(msg) > maxMessageLength:
		return bad("too long")
	case !utf8.ValidString(msg):
		return bad("not UTF-8")
	case strings.HasPrefix(msg, "p=") || strings.HasPrefix(msg, "y,"):
		return bad("channel binding is not supported, the GS2 header must be n,,")
	case !strings.HasPrefix(msg, gs2Header):
		return bad("the GS2 header must be n,, (no authorization identity)")
	}
	fields := strings.Split(msg[len(gs2Header):], ",")
	if len(fields) != 2 || !strings.HasPrefix(fields[0], "n=") || !strings.HasPrefix(fields[1], "r=") {
		return bad("want n=<email>,r=<nonce> and nothing else")
	}
	name, ok := decodeSASLName(fields[0][2:])
	if !ok || name == "" {
		return bad("the user name is not a valid saslname")
	}
	nonce := fields[1][2:]
	if !validNonce(nonce) {
		return bad(fmt.Sprintf("the nonce must be %d to %d printable characters without commas", minNonceLength, maxNonceLength))
	}
	return clientFirst{username: name, nonce: nonce}, nil
}

// clientFinal is a parsed client-final message (RFC 5802 §7).
type clientFinal struct {
	nonce string
	proof []byte
}

// parseClientFinal parses "c=biws,r=<nonce>,p=<proof>" strictly: c= must be
// the base64 of n,, and the proof exactly 32 bytes. Every failure is
// EBadRequest.
func parseClientFinal(msg string) (clientFinal, error) {
	bad := func(why string) (clientFinal, error) {
		return clientFinal{}, sesame.Errorf(sesame.EBadRequest, "client_final is not a SCRAM-SHA-256 client-final message: %s.", why)
	}
	if len(msg) > maxMessageLength {
		return bad("too long")
	}
	fields := strings.Split(msg, ",")
	if len(fields) != 3 || !strings.HasPrefix(fields[0], "c=") || !strings.HasPrefix(fields[1], "r=") || !strings.HasPrefix(fields[2], "p=") {
		return bad("want c=biws,r=<nonce>,p=<proof> and nothing else")
	}
	if fields[0][2:] != cbindGS2 {
		return bad("c= must be biws, the base64 of the GS2 header n,,")
	}
	// The combined nonce: the client's, then the server's.
	if nonce := fields[1][2:]; len(nonce) < minNonceLength+serverNonceLength || len(nonce) > maxNonceLength+serverNonceLength || !validNonceChars(nonce) {
		return bad("the nonce is not valid")
	}
	proof, err := base64.StdEncoding.Strict().DecodeString(fields[2][2:])
	if err != nil || len(proof) != keyLength {
		return bad(fmt.Sprintf("the proof must be %d bytes in standard base64", keyLength))
	}
	return clientFinal{nonce: fields[1][2:], proof: proof}, nil
}

// validNonce reports whether n is a nonce as RFC 5802 §7 defines it
// (printable ASCII but ","), of a sensible length.
func validNonce(n string) bool {
	return len(n) >= minNonceLength && len(n) <= maxNonceLength && validNonceChars(n)
}

func validNonceChars(n string) bool {
	for i := 0; i < len(n); i++ {
		if c := n[i]; c < 0x21 || c > 0x7e || c == ',' {
			return false
		}
	}
	return true
}

// decodeSASLName undoes RFC 5802 §5.1's escaping ("=2C" is ",", "=3D" is
// "="); any other "=" makes the name invalid.
func decodeSASLName(s string) (string, bool) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] != '=':
			b.WriteByte(s[i])
		case strings.HasPrefix(s[i:], "=2C"):
			b.WriteByte(',')
			i += 2
		case strings.HasPrefix(s[i:], "=3D"):
			b.WriteByte('=')
			i += 2
		default:
			return "", false
		}
	}
	return b.String(), true
}

// emailOf turns a SCRAM user name into the normalised address it names,
// with sesame.NormalizeEmail alone: the one normalisation every path uses
// (SECURITY rule 59). SASLprep's NFKC, which RFC 5802 §2.2 suggests for
// user names, would map "ａlice@…" to another account than the one the
// email flows made; the password itself is still SASLprepped by clients.
func emailOf(username string) (string, error) {
	return sesame.NormalizeEmail(username)
}

// Challenge is the server-first step of a login.
type Challenge struct {
	LoginID string
	// ServerFirst is "r=<client nonce><server nonce>,s=<salt>,i=<count>".
	ServerFirst string
	ExpiresIn   time.Duration
}

// Begin answers a client-first message with a server-first one and keeps
// the login for LoginTTL. An address with no account, or with no password,
// gets a stable fake salt HMAC(FakeSaltKey, email)[:16] and the same
// iteration count, so the answer does not tell (SECURITY rule 25); its
// login fails at finish.
func (s *Service) Begin(ctx context.Context, msg string) (Challenge, error) {
	cf, err := parseClientFirst(msg)
	if err != nil {
		return Challenge{}, err
	}
	email, err := emailOf(cf.username)
	if err != nil {
		return Challenge{}, err
	}
	if s.cfg.Tarpit != nil {
		if err := s.cfg.Tarpit.Check(ctx, email); err != nil {
			return Challenge{}, err
		}
	}
	if s.cfg.OpenLogins != nil {
		if err := s.cfg.OpenLogins(ctx, email); err != nil {
			return Challenge{}, err
		}
	}
	userID, salt, iterations, err := s.lookup(ctx, email)
	if err != nil {
		return Challenge{}, fmt.Errorf("password login: %w", err)
	}
	now := s.cfg.Now()
	serverNonce := base64.RawURLEncoding.EncodeToString(sesame.RandomBytes(serverNonceBytes))
	ch := Challenge{
		LoginID:     sesame.NewID(),
		ServerFirst: serverFirst(cf.nonce+serverNonce, salt, iterations),
		ExpiresIn:   s.cfg.LoginTTL,
	}
	if err := s.cfg.Store.CreateSCRAMLogin(ctx, ch.LoginID, userID, msg, serverNonce, now, now.Add(s.cfg.LoginTTL)); err != nil {
		return Challenge{}, fmt.Errorf("password login: %w", err)
	}
	return ch, nil
}

// serverFirst formats the server-first message exactly as xdg-go/scram
// does, since finish replays the conversation through it and the proof
// covers these bytes (RFC 5802 §3, AuthMessage).
func serverFirst(nonce string, salt []byte, iterations int) string {
	return "r=" + nonce + ",s=" + base64.StdEncoding.EncodeToString(salt) + ",i=" + strconv.Itoa(iterations)
}

// lookup returns the user with a password at email and their salt and
// count; for anyone else, no user and the fake salt. Both paths make the
// same two reads, so they take the same time.
func (s *Service) lookup(ctx context.Context, email string) (userID string, salt []byte, iterations int, err error) {
	u, err := s.cfg.Store.UserByEmail(ctx, email)
	if err != nil && !errors.Is(err, sesame.ErrNotFound) {
		return "", nil, 0, err
	}
	if err != nil || !u.Active() {
		u.ID = "" // no such user id: the read below misses, as for a user without a password
	}
	salt, iterations, _, _, err = s.cfg.Store.PasswordOf(ctx, u.ID)
	switch {
	case errors.Is(err, sesame.ErrNotFound):
		return "", s.fakeSalt(email), s.cfg.Iterations, nil
	case err != nil:
		return "", nil, 0, err
	}
	return u.ID, salt, iterations, nil
}

// fakeSalt is the salt shown for an address without a password: stable, so
// two logins show the same, and unlinkable to anything without the key.
func (s *Service) fakeSalt(email string) []byte {
	m := hmac.New(sha256.New, s.cfg.FakeSaltKey)
	m.Write([]byte(email))
	return m.Sum(nil)[:SaltLength]
}

// Login is a password proved.
type Login struct {
	User sesame.User
	// ServerFinal is "v=<server signature>", the server's proof that it
	// knows the password's ServerKey (RFC 5802 §3).
	ServerFinal string
	// Methods are the second factors the user can complete the sign-in
	// with: "webauthn" when they have a passkey, and "email_otp".
	Methods []string
}

// Finish checks a client-final message against login loginID. The login is
// spent first, by one conditional update, so it is used once whatever the
// outcome, and it dies after LoginTTL (SECURITY rule 22). The conversation
// is rebuilt in xdg-go/scram from the stored client-first message and
// server nonce; the library checks that the nonce is the combined one and
// compares H(ClientKey) with StoredKey in constant time (rule 24). A
// failure of any kind is the one errInvalidCredentials; a malformed message
// is EBadRequest, an expired login EExpired, a spent one EUsed.
func (s *Service) Finish(ctx context.Context, loginID, msg string) (Login, error) {
	if loginID == "" {
		return Login{}, sesame.Errorf(sesame.EBadRequest, "login_id is required.")
	}
	if _, err := parseClientFinal(msg); err != nil {
		return Login{}, err
	}
	userID, first, serverNonce, err := s.cfg.Store.ConsumeSCRAMLogin(ctx, loginID, s.cfg.Now())
	if errors.Is(err, sesame.ErrNotFound) {
		return Login{}, s.whyNotLive(ctx, loginID)
	} else if err != nil {
		return Login{}, fmt.Errorf("password login: %w", err)
	}
	// The tarpit is checked where the proof is, too: a login begun before
	// it closed, or with many others at once, gets no extra guess
	// (SECURITY rule 53). The attempt counts as a failure until it succeeds.
	if err := s.claim(ctx, first); err != nil {
		return Login{}, err
	}
	creds, err := s.credentials(ctx, userID, first)
	if err != nil {
		return Login{}, fmt.Errorf("password login: %w", err)
	}
	server, err := scram.SHA256.NewServer(func(string) (scram.StoredCredentials, error) { return creds, nil })
	if err != nil {
		return Login{}, fmt.Errorf("password login: %w", err)
	}
	conv := server.WithNonceGenerator(func() string { return serverNonce }).NewConversation()
	if _, err := conv.Step(first); err != nil {
		// Begin stored only messages it parsed: this is our bug.
		return Login{}, fmt.Errorf("password login: replay client-first: %w", err)
	}
	final, err := conv.Step(msg)
	if err != nil || !conv.Valid() || userID == "" {
		// The account the login was for, for the audit log only.
		return Login{User: sesame.User{ID: userID}}, errInvalidCredentials
	}
	s.succeed(ctx, first)
	u, err := s.cfg.Store.UserByID(ctx, userID)
	if errors.Is(err, sesame.ErrNotFound) {
		return Login{}, errInvalidCredentials
	} else if err == nil && !u.Active() {
		return Login{User: sesame.User{ID: u.ID}}, sesame.ErrAccountDisabled
	} else if err != nil {
		return Login{}, fmt.Errorf("password login: %w", err)
	}
	methods, err := s.methods(ctx, u.ID)
	if err != nil {
		return Login{}, fmt.Errorf("password login: %w", err)
	}
	return Login{User: u, ServerFinal: final, Methods: methods}, nil
}

// claim counts a login's attempt against the tarpit of the address of its
// stored client-first message, or refuses it while the address must wait.
func (s *Service) claim(ctx context.Context, first string) error {
	if s.cfg.Tarpit == nil {
		return nil
	}
	email, err := emailOfFirst(first)
	if err != nil {
		return fmt.Errorf("password login: stored client-first: %w", err)
	}
	return s.cfg.Tarpit.Claim(ctx, email)
}

// succeed clears the tarpit of a login's address after a proof held. Its
// errors are logged: the proof's answer stands.
func (s *Service) succeed(ctx context.Context, first string) {
	if s.cfg.Tarpit == nil {
		return
	}
	email, err := emailOfFirst(first)
	if err == nil {
		err = s.cfg.Tarpit.Succeed(ctx, email)
	}
	if err != nil && s.cfg.Logger != nil {
		s.cfg.Logger.Warn("password tarpit not cleared", "err", err)
	}
}

// emailOfFirst is the address a stored client-first message names.
func emailOfFirst(first string) (string, error) {
	cf, err := parseClientFirst(first)
	if err != nil {
		return "", err
	}
	return emailOf(cf.username)
}

// credentials returns the stored SCRAM credentials of userID. A login
// without a user (or whose user removed the password since begin) gets the
// fake salt and random keys: the proof is checked all the same, and fails.
func (s *Service) credentials(ctx context.Context, userID, first string) (scram.StoredCredentials, error) {
	if userID != "" {
		salt, iterations, storedKey, serverKey, err := s.cfg.Store.PasswordOf(ctx, userID)
		if err == nil {
			return scram.StoredCredentials{
				KeyFactors: scram.KeyFactors{Salt: string(salt), Iters: iterations},
				StoredKey:  storedKey, ServerKey: serverKey,
			}, nil
		} else if !errors.Is(err, sesame.ErrNotFound) {
			return scram.StoredCredentials{}, err
		}
	}
	var salt []byte
	if cf, err := parseClientFirst(first); err == nil {
		if email, err := emailOf(cf.username); err == nil {
			salt = s.fakeSalt(email)
		}
	}
	return scram.StoredCredentials{
		KeyFactors: scram.KeyFactors{Salt: string(salt), Iters: s.cfg.Iterations},
		StoredKey:  sesame.RandomBytes(keyLength), ServerKey: sesame.RandomBytes(keyLength),
	}, nil
}

// whyNotLive explains a login the conditional update did not match. An
// unknown login looks expired: it may have been swept.
func (s *Service) whyNotLive(ctx context.Context, loginID string) error {
	consumed, err := s.cfg.Store.SCRAMLoginConsumed(ctx, loginID)
	switch {
	case errors.Is(err, sesame.ErrNotFound):
		return errLoginExpired
	case err != nil:
		return fmt.Errorf("password login: %w", err)
	case consumed:
		return errLoginUsed
	}
	return errLoginExpired
}

// methods lists the second factors userID can use.
func (s *Service) methods(ctx context.Context, userID string) ([]string, error) {
	var methods []string
	if s.cfg.Credentials != nil {
		creds, err := s.cfg.Credentials.CredentialsByUser(ctx, userID)
		if err != nil {
			return nil, err
		}
		if len(creds) > 0 {
			methods = append(methods, "webauthn")
		}
	}
	methods = append(methods, "email_otp")
	if s.cfg.Factors != nil {
		hasTOTP, err := s.cfg.Factors.HasTOTP(ctx, userID)
		if err != nil {
			return nil, err
		}
		left, err := s.cfg.Factors.RecoveryCodesLeft(ctx, userID)
		if err != nil {
			return nil, err
		}
		if hasTOTP {
			methods = append(methods, "totp")
		}
		if left > 0 {
			methods = append(methods, "recovery_code")
		}
	}
	return methods, nil
}
