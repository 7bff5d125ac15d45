package webauthn

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"

	"github.com/sesame-auth/sesame"
)

// fakeShape is one kind of credential record as real authenticators make
// it: the length of its id and the transports clients report for it.
type fakeShape struct {
	idLength   int
	transports []string
	weight     int // out of 100
}

// fakeShapes are drawn for the fake credentials of unknown addresses, in
// about the proportions real accounts show them (SECURITY rule 55):
// synced passkeys (16-byte ids: Google Password Manager, Chrome and most
// password managers; 20: iCloud Keychain; 32: Windows Hello and others),
// device-bound platform keys, security keys on USB and NFC with short
// (discoverable) or 48- and 64-byte (wrapped) ids, and records made by a
// client that reported no transports. Transports are sorted, as browsers
// report them and as toLibrary sends real ones.
var fakeShapes = []fakeShape{
	{16, []string{"hybrid", "internal"}, 24},
	{20, []string{"hybrid", "internal"}, 16},
	{32, []string{"hybrid", "internal"}, 14},
	{32, []string{"internal"}, 8},
	{16, []string{"nfc", "usb"}, 6},
	{32, []string{"nfc", "usb"}, 5},
	{48, []string{"nfc", "usb"}, 4},
	{64, []string{"nfc", "usb"}, 8},
	{64, []string{"usb"}, 5},
	{32, []string{"usb"}, 3},
	{64, []string{"ble", "nfc", "usb"}, 2},
	{32, nil, 3},
	{16, nil, 2},
}

// fakeCounts are the chances, out of 100, of 1, 2 and 3 fake credentials.
var fakeCounts = []int{55, 30, 15}

// pick returns the index that roll (0–99) falls on in weights.
func pick(roll int, weights []int) int {
	for i, w := range weights {
		if roll < w {
			return i
		}
		roll -= w
	}
	return len(weights) - 1
}

// fakeUser is the user behind an email-first login for an address without
// an account or without a passkey: one to three credentials whose number,
// id lengths and transports are drawn like real records' (fakeShapes) and
// whose ids are derived from HMAC(FakeCredentialKey, email), so they are
// stable across calls and no field tells them from a real account's
// (SECURITY rules 10, 55).
func (s *Service) fakeUser(email string) *user {
	mac := func(parts ...string) []byte {
		h := hmac.New(sha256.New, s.cfg.FakeCredentialKey)
		for _, p := range parts {
			h.Write([]byte(p))
			h.Write([]byte{0})
		}
		return h.Sum(nil)
	}
	roll := func(b []byte) int { return int(binary.BigEndian.Uint16(b) % 100) }
	seed := mac("shape", email)
	weights := make([]int, len(fakeShapes))
	for i, f := range fakeShapes {
		weights[i] = f.weight
	}
	creds := make([]sesame.Credential, 1+pick(roll(seed[0:]), fakeCounts))
	for i := range creds {
		shape := fakeShapes[pick(roll(seed[2+2*i:]), weights)]
		n := string(rune('0' + i))
		id := append(mac("id", email, n), mac("id, more", email, n)...) // 64 bytes
		creds[i] = sesame.Credential{ID: id[:shape.idLength], Transports: shape.transports}
	}
	return newUser(sesame.User{Email: email, WebAuthnHandle: mac("handle", email)}, creds)
}
