package webauthn

// Sign-in tickets: a passkey sign-in's begin stores nothing. Its ceremony
// id is a ticket that carries the challenge, its expiry and whom it was
// begun for, sealed (encrypted and authenticated); the finish's one
// transaction spends the challenge (SECURITY rule 1: single use, bound,
// 300 s). The client holds the ticket, so it is encrypted and of one
// length whatever it carries: an email-first begin's ticket does not tell
// an account from an address without one, nor name the account (SECURITY
// rules 10, 35, 55).

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"strings"
	"time"

	"golang.org/x/crypto/chacha20poly1305"

	"github.com/sesame-auth/sesame"
)

// ticketPrefix starts every ticket. Stored ceremony ids (sesame.NewID)
// never hold a dot, so the two cannot be mistaken for each other.
const ticketPrefix = "l."

// Ticket purposes: what a ticket is sealed for besides the RP ID. A
// ticket made for one purpose does not open as another.
const purposeLogin = "sesame/v1/login-ticket"

// Ticket kinds, the first byte.
const (
	kindDiscoverable = 'D' // the authenticator names the user
	kindBound        = 'U' // begun for one account (email-first); userID "" for an address without one
)

const (
	challengeSize = 32
	// maxTicketUser bounds the user id a ticket carries, as the stored
	// ceremonies bound their ids; every ticket carries this many bytes for
	// it, so that all tickets are of one length.
	maxTicketUser = 64
	// ticketPlain is kind, expiry (Unix ms), challenge, the user id's
	// length and the user id padded to maxTicketUser.
	ticketPlain = 1 + 8 + challengeSize + 1 + maxTicketUser
	// ticketSealed is a ticket's bytes: a random XChaCha20-Poly1305 nonce
	// (192 bits: random nonces never repeat in practice), then the sealed
	// plaintext with its tag.
	ticketSealed = chacha20poly1305.NonceSizeX + ticketPlain + chacha20poly1305.Overhead
)

// ticket is what a sign-in's begin hands out instead of a stored
// ceremony.
type ticket struct {
	discoverable bool
	userID       string
	challenge    []byte
	expires      time.Time
}

// seal returns t as a ceremony id: ticketPrefix, then base64url of a
// nonce and t sealed under the ticket key, with purpose and the RP ID as
// associated data.
func (s *Service) seal(purpose string, t ticket) string {
	plain := make([]byte, ticketPlain)
	plain[0] = kindBound
	if t.discoverable {
		plain[0] = kindDiscoverable
	}
	binary.BigEndian.PutUint64(plain[1:9], uint64(t.expires.UnixMilli()))
	copy(plain[9:9+challengeSize], t.challenge)
	plain[9+challengeSize] = byte(len(t.userID))
	copy(plain[10+challengeSize:], t.userID)
	nonce := sesame.RandomBytes(chacha20poly1305.NonceSizeX)
	raw := s.ticketAEAD.Seal(nonce, nonce, plain, s.ticketData(purpose))
	return ticketPrefix + base64.RawURLEncoding.EncodeToString(raw)
}

// open opens id for purpose and returns its ticket; ok is false for
// anything else: not a ticket, altered, of another purpose or
// installation. Expiry is the caller's to check.
func (s *Service) open(purpose, id string) (t ticket, ok bool) {
	enc, found := strings.CutPrefix(id, ticketPrefix)
	if !found || len(enc) != base64.RawURLEncoding.EncodedLen(ticketSealed) {
		return t, false
	}
	raw, err := base64.RawURLEncoding.DecodeString(enc)
	if err != nil || len(raw) != ticketSealed {
		return t, false
	}
	nonce, sealed := raw[:chacha20poly1305.NonceSizeX], raw[chacha20poly1305.NonceSizeX:]
	plain, err := s.ticketAEAD.Open(nil, nonce, sealed, s.ticketData(purpose))
	if err != nil || len(plain) != ticketPlain || (plain[0] != kindDiscoverable && plain[0] != kindBound) {
		return t, false
	}
	n := int(plain[9+challengeSize])
	if n > maxTicketUser {
		return t, false
	}
	t.discoverable = plain[0] == kindDiscoverable
	t.expires = time.UnixMilli(int64(binary.BigEndian.Uint64(plain[1:9])))
	t.challenge = plain[9 : 9+challengeSize]
	t.userID = string(plain[10+challengeSize : 10+challengeSize+n])
	if t.discoverable && t.userID != "" {
		return ticket{}, false
	}
	return t, true
}

// ticketData is a ticket's associated data: a ticket sealed for one
// purpose or RP ID does not open for another.
func (s *Service) ticketData(purpose string) []byte {
	return []byte(purpose + "\x00" + s.rp.Config.RPID)
}

// ticketKey derives the ticket AEAD's 32-byte key from the configured
// ChallengeKey (sesame.PurposeLoginChallenge).
func ticketKey(challengeKey []byte) []byte {
	m := hmac.New(sha256.New, challengeKey)
	m.Write([]byte("sesame/v1/login-ticket-aead"))
	return m.Sum(nil)
}

// challengeHash is what spent_challenges keeps of a ticket's challenge:
// never the challenge itself (SECURITY rule 39).
func challengeHash(challenge []byte) []byte {
	h := sha256.Sum256(challenge)
	return h[:]
}
