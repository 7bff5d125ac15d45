package sesame

import (
	"crypto/rand"
	"encoding/base64"
	"time"
)

// RandomBytes returns n bytes from crypto/rand. crypto/rand.Read never
// fails on supported platforms (Go 1.24+), so no error is returned.
func RandomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

// NewID returns a new opaque identifier of 22 URL-safe characters: 48 bits
// of the time in milliseconds, then 80 random bits, written in an
// alphabet that sorts like the bytes. IDs made one after another are
// neighbours in a primary-key index, so inserts touch the same few pages
// instead of a random one each; 80 bits keep them unguessable and unique.
func NewID() string { return newID(time.Now()) }

func newID(t time.Time) string {
	b := RandomBytes(16)
	ms := uint64(t.UnixMilli())
	for i := 5; i >= 0; i-- {
		b[i] = byte(ms)
		ms >>= 8
	}
	return sortable.EncodeToString(b)
}

// sortable is base64 with its 64 characters (those of base64url) in ASCII
// order, so that encoded IDs sort as their bytes do.
var sortable = base64.NewEncoding("-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz").WithPadding(base64.NoPadding)

// NewToken returns a new bearer secret: 32 random bytes (256 bits), base64url.
func NewToken() string { return base64.RawURLEncoding.EncodeToString(RandomBytes(32)) }
