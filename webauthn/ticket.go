package webauthn

// Sign-in tickets: a passkey sign-in's begin stores nothing. Its ceremony
// id is a ticket that carries the challenge, its expiry and whom it was
// begun for, under a MAC; the finish's one transaction spends the
// challenge (SECURITY rule 1: single use, bound, 300 s).

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"strings"
	"time"
)

// ticketPrefix starts every ticket. Stored ceremony ids (sesame.NewID)
// never hold a dot, so the two cannot be mistaken for each other.
const ticketPrefix = "l."

// Ticket purposes: what the MAC is bound to besides the RP ID. A ticket
// made for one purpose does not open as another.
const purposeLogin = "sesame/v1/login-ticket"

// Ticket kinds, the first byte.
const (
	kindDiscoverable = 'D' // the authenticator names the user
	kindBound        = 'U' // begun for one account (email-first); userID "" for an address without one
)

const (
	macSize       = sha256.Size
	challengeSize = 32
	// ticketHead is kind, expiry (Unix ms) and challenge.
	ticketHead = 1 + 8 + challengeSize
	// maxTicketUser bounds the user id a ticket carries, as the stored
	// ceremonies bound their ids.
	maxTicketUser = 64
)

// ticket is what a sign-in's begin hands out instead of a stored
// ceremony.
type ticket struct {
	discoverable bool
	userID       string
	challenge    []byte
	expires      time.Time
}

// seal returns t as a ceremony id: ticketPrefix, then base64url of kind,
// expiry, challenge, user id and HMAC-SHA-256(key, purpose, RP ID, all
// that).
func (s *Service) seal(purpose string, t ticket) string {
	raw := make([]byte, ticketHead, ticketHead+len(t.userID)+macSize)
	raw[0] = kindBound
	if t.discoverable {
		raw[0] = kindDiscoverable
	}
	binary.BigEndian.PutUint64(raw[1:9], uint64(t.expires.UnixMilli()))
	copy(raw[9:ticketHead], t.challenge)
	raw = append(raw, t.userID...)
	raw = append(raw, s.ticketMAC(purpose, raw)...)
	return ticketPrefix + base64.RawURLEncoding.EncodeToString(raw)
}

// open checks id's MAC for purpose and returns its ticket; ok is false
// for anything else: not a ticket, altered, of another purpose or
// installation. Expiry is the caller's to check.
func (s *Service) open(purpose, id string) (t ticket, ok bool) {
	enc, found := strings.CutPrefix(id, ticketPrefix)
	if !found || len(enc) > base64.RawURLEncoding.EncodedLen(ticketHead+maxTicketUser+macSize) {
		return t, false
	}
	raw, err := base64.RawURLEncoding.DecodeString(enc)
	if err != nil || len(raw) < ticketHead+macSize || (raw[0] != kindDiscoverable && raw[0] != kindBound) {
		return t, false
	}
	body, mac := raw[:len(raw)-macSize], raw[len(raw)-macSize:]
	if !hmac.Equal(mac, s.ticketMAC(purpose, body)) {
		return t, false
	}
	t.discoverable = body[0] == kindDiscoverable
	t.expires = time.UnixMilli(int64(binary.BigEndian.Uint64(body[1:9])))
	t.challenge = body[9:ticketHead]
	t.userID = string(body[ticketHead:])
	if t.discoverable && t.userID != "" {
		return ticket{}, false
	}
	return t, true
}

func (s *Service) ticketMAC(purpose string, body []byte) []byte {
	m := hmac.New(sha256.New, s.cfg.ChallengeKey)
	m.Write([]byte(purpose))
	m.Write([]byte{0})
	m.Write([]byte(s.rp.Config.RPID))
	m.Write([]byte{0})
	m.Write(body)
	return m.Sum(nil)
}

// challengeHash is what spent_challenges keeps of a ticket's challenge:
// never the challenge itself (SECURITY rule 39).
func challengeHash(challenge []byte) []byte {
	h := sha256.Sum256(challenge)
	return h[:]
}
