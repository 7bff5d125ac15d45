package magiclink

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"math/big"
)

// NewCode returns 6 decimal digits from crypto/rand. rand.Int draws
// uniformly in [0, 10^6), so there is no modulo bias (63B §5.1.3.2).
func NewCode() string {
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil { // crypto/rand does not fail on supported platforms
		panic(fmt.Sprintf("crypto/rand: %v", err))
	}
	return fmt.Sprintf("%06d", n.Int64())
}

// CodeMAC is how a code is stored: HMAC-SHA-256(key, flow id ‖ code). The
// flow id binds a code to its flow, so a stolen table of MACs is no use for
// precomputing codes.
func CodeMAC(key []byte, flowID, code string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(flowID))
	m.Write([]byte{0})
	m.Write([]byte(code))
	return m.Sum(nil)
}

// ValidCodeFormat reports whether code is exactly 6 ASCII digits.
func ValidCodeFormat(code string) bool {
	if len(code) != 6 {
		return false
	}
	for i := 0; i < len(code); i++ {
		if code[i] < '0' || code[i] > '9' {
			return false
		}
	}
	return true
}
