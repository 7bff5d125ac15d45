package password

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/sesame-auth/sesame"
)

// The SCRAM parser's limits, each on both sides: the message length, the
// nonce lengths, the edges of RFC 5802's printable range
// (%x21-2B / %x2D-7E) and the order and number of attributes.

// clientFirstOf is a client-first message with user name name and client
// nonce nonce.
func clientFirstOf(name, nonce string) string { return "n,,n=" + name + ",r=" + nonce }

// clientFinalOf is a client-final message with combined nonce nonce and a
// well-formed 32-byte proof.
func clientFinalOf(nonce string) string {
	return "c=biws,r=" + nonce + ",p=" + base64.StdEncoding.EncodeToString(make([]byte, keyLength))
}

func TestServerNonceLength(t *testing.T) {
	if got := base64.RawURLEncoding.EncodedLen(serverNonceBytes); got != serverNonceLength {
		t.Fatalf("serverNonceLength = %d; %d bytes of base64url are %d characters", serverNonceLength, serverNonceBytes, got)
	}
}

func TestClientFirstLimits(t *testing.T) {
	maxNonce := strings.Repeat("n", maxNonceLength)
	// A name that makes the message exactly maxMessageLength long.
	longName := strings.Repeat("a", maxMessageLength-len(clientFirstOf("", maxNonce)))
	for _, tc := range []struct {
		why string
		in  string
		ok  bool
	}{
		{"message of the maximum length", clientFirstOf(longName, maxNonce), true},
		{"message one byte above the maximum", clientFirstOf(longName+"a", maxNonce), false},
		{"nonce of the minimum length", clientFirstOf("a@b.c", strings.Repeat("n", minNonceLength)), true},
		{"nonce one below the minimum", clientFirstOf("a@b.c", strings.Repeat("n", minNonceLength-1)), false},
		{"nonce of the maximum length", clientFirstOf("a@b.c", maxNonce), true},
		{"nonce one above the maximum", clientFirstOf("a@b.c", maxNonce+"n"), false},
		{"'!' (0x21), the first printable", clientFirstOf("a@b.c", "!!!!!!!!"), true},
		{"'~' (0x7E), the last printable", clientFirstOf("a@b.c", "~~~~~~~~"), true},
		{"'+' (0x2B) and '-' (0x2D), either side of ','", clientFirstOf("a@b.c", "++++----"), true},
		{"space (0x20)", clientFirstOf("a@b.c", "abcd efgh"), false},
		{"DEL (0x7F)", clientFirstOf("a@b.c", "abcd\x7fefgh"), false},
		{"',' (0x2C) in the nonce", clientFirstOf("a@b.c", "abcd,efgh"), false},
		{"non-ASCII in the nonce", clientFirstOf("a@b.c", "abcdéfgh"), false},
		{"r before n", "n,,r=abcdefgh,n=a@b.c", false},
		{"n twice", "n,,n=a@b.c,n=d@e.f,r=abcdefgh", false},
		{"r twice", "n,,n=a@b.c,r=abcdefgh,r=abcdefgh", false},
		{"n missing", "n,,r=abcdefgh", false},
	} {
		got, err := parseClientFirst(tc.in)
		switch {
		case tc.ok && err != nil:
			t.Errorf("%s: parseClientFirst refused it: %v", tc.why, err)
		case tc.ok && (got.nonce != tc.in[strings.LastIndex(tc.in, "r=")+2:] || got.username == ""):
			t.Errorf("%s: parseClientFirst = %+v", tc.why, got)
		case !tc.ok && sesame.ErrorCode(err) != sesame.EBadRequest:
			t.Errorf("%s: parseClientFirst = %+v, %v; want bad_request", tc.why, got, err)
		}
	}
}

func TestClientFinalLimits(t *testing.T) {
	minNonce := strings.Repeat("n", minNonceLength+serverNonceLength)
	maxNonce := strings.Repeat("n", maxNonceLength+serverNonceLength)
	for _, tc := range []struct {
		why string
		in  string
		ok  bool
	}{
		{"combined nonce of the minimum length", clientFinalOf(minNonce), true},
		{"combined nonce one below the minimum", clientFinalOf(minNonce[1:]), false},
		{"combined nonce of the maximum length", clientFinalOf(maxNonce), true},
		{"combined nonce one above the maximum", clientFinalOf(maxNonce + "n"), false},
		{"'!' (0x21) and '~' (0x7E)", clientFinalOf(strings.Repeat("!~", len(minNonce)/2)), true},
		{"space (0x20)", clientFinalOf(minNonce[1:] + " "), false},
		{"DEL (0x7F)", clientFinalOf(minNonce[1:] + "\x7f"), false},
		{"r before c", "r=" + minNonce + ",c=biws,p=" + base64.StdEncoding.EncodeToString(make([]byte, keyLength)), false},
		{"c twice", "c=biws," + clientFinalOf(minNonce), false},
		{"r twice", "c=biws,r=" + minNonce + "," + clientFinalOf(minNonce)[len("c=biws,"):], false},
		{"p twice", clientFinalOf(minNonce) + ",p=" + base64.StdEncoding.EncodeToString(make([]byte, keyLength)), false},
	} {
		got, err := parseClientFinal(tc.in)
		switch {
		case tc.ok && err != nil:
			t.Errorf("%s: parseClientFinal refused it: %v", tc.why, err)
		case tc.ok && len(got.proof) != keyLength:
			t.Errorf("%s: parseClientFinal = %+v", tc.why, got)
		case !tc.ok && sesame.ErrorCode(err) != sesame.EBadRequest:
			t.Errorf("%s: parseClientFinal = %+v, %v; want bad_request", tc.why, got, err)
		}
	}
}

// TestClientFinalLengthCheckedFirst: no well-formed client-final message
// comes near maxMessageLength, so the length check only spares the parser
// the work of splitting a big body. It refuses one byte above the limit
// and leaves a message of exactly the limit to the field checks.
func TestClientFinalLengthCheckedFirst(t *testing.T) {
	atLimit := clientFinalOf(strings.Repeat("n", maxMessageLength-len(clientFinalOf(""))))
	if len(atLimit) != maxMessageLength {
		t.Fatalf("test message is %d bytes", len(atLimit))
	}
	for _, tc := range []struct {
		in       string
		tooLong  bool
		whatSize string
	}{
		{atLimit, false, "of the maximum length"},
		{atLimit + "A", true, "one byte above the maximum"},
	} {
		_, err := parseClientFinal(tc.in)
		if sesame.ErrorCode(err) != sesame.EBadRequest {
			t.Fatalf("message %s: %v; want bad_request", tc.whatSize, err)
		}
		if got := strings.Contains(err.Error(), "too long"); got != tc.tooLong {
			t.Errorf("message %s: %q; want \"too long\" in it: %v", tc.whatSize, err, tc.tooLong)
		}
	}
}

func TestValidNonceChars(t *testing.T) {
	for c := 0; c < 0x100; c++ {
		want := c >= 0x21 && c <= 0x7e && c != ','
		if got := validNonceChars(string([]byte{'a', byte(c), 'z'})); got != want {
			t.Errorf("validNonceChars with byte %#x = %v; want %v", c, got, want)
		}
	}
}
