package sesame

import (
	"crypto/rand"
	"encoding/base64"
)

// RandomBytes returns n bytes from crypto/rand. crypto/rand.Read never
// fails on supported platforms (Go 1.24+), so no error is returned.
func RandomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

// NewID returns a new opaque identifier: 16 random bytes, base64url.
func NewID() string { return base64.RawURLEncoding.EncodeToString(RandomBytes(16)) }

// NewToken returns a new bearer secret: 32 random bytes (256 bits), base64url.
func NewToken() string { return base64.RawURLEncoding.EncodeToString(RandomBytes(32)) }
