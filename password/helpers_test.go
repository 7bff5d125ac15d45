package password

import (
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/sha256"
)

// pbkdf2SHA256 is SaltedPassword := Hi(password, salt, i) of RFC 5802 §3
// for SCRAM-SHA-256 (RFC 7677).
func pbkdf2SHA256(password string, salt []byte, iterations int) []byte {
	k, err := pbkdf2.Key(sha256.New, password, salt, iterations, sha256.Size)
	if err != nil {
		panic(err)
	}
	return k
}

func hmacSHA256(key []byte, msg string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(msg))
	return m.Sum(nil)
}
