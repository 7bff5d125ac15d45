package password

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/sesame-auth/sesame"
)

// FuzzClientFirst feeds any client-first message to Begin: it must never
// panic, and must answer a server-first message or bad_request, never an
// internal error (SECURITY rule 23).
func FuzzClientFirst(f *testing.F) {
	for _, s := range []string{
		"n,,n=a@example.com,r=abcdefgh", "n,,n=a=2Cb@example.com,r=abcdefgh", "y,,n=a@b.c,r=abcdefgh",
		"p=tls-unique,,n=a@b.c,r=x", "n,a=x,n=a@b.c,r=abcdefgh", "n,,m=x,n=a@b.c,r=abcdefgh", "n,,n=a=@b.c,r=abcdefgh",
		"n,,n=\u00a0a@b.c,r=abcdefgh", "", ",,,", "n,,n=a@b.c,r=abcdefgh,e=1",
		"n,,n=Alice@Ex\u00e4mple.com,r=abcdefgh", "n,,n=\uff41lice@example.com,r=abcdefgh", "n,,n=a\u2028@b.c,r=abcdefgh",
		"n,,n=a@[127.0.0.1],r=abcdefgh", "n,,n=a\u00ad@b.c,r=abcdefgh",
	} {
		f.Add(s)
	}
	e := newEnv(f)
	f.Fuzz(func(t *testing.T, msg string) {
		ch, err := e.s.Begin(context.Background(), msg)
		switch code := sesame.ErrorCode(err); code {
		case "":
			if !strings.HasPrefix(ch.ServerFirst, "r=") || ch.LoginID == "" {
				t.Fatalf("Begin(%q) = %+v", msg, ch)
			}
			// The user name goes through the one normaliser (SECURITY rule
			// 59): its normalised spelling gets the same (fake) salt.
			name, _ := decodeSASLName(strings.TrimPrefix(strings.Split(msg, ",")[2], "n="))
			email, err := sesame.NormalizeEmail(name)
			if err != nil {
				t.Fatalf("Begin(%q) accepted a user name NormalizeEmail refuses: %v", msg, err)
			}
			escaped := strings.NewReplacer("=", "=3D", ",", "=2C").Replace(email)
			again, err := e.s.Begin(context.Background(), "n,,n="+escaped+",r=abcdefgh")
			if err != nil || saltOf(again.ServerFirst) != saltOf(ch.ServerFirst) {
				t.Fatalf("Begin(%q) and Begin of its normalised name %q differ: %q vs %q (%v)", msg, email, ch.ServerFirst, again.ServerFirst, err)
			}
		case sesame.EBadRequest:
		default:
			t.Fatalf("Begin(%q) error = %v (code %s); want bad_request", msg, err, code)
		}
	})
}

// FuzzLoginFinish feeds any client-final message to Finish of a live
// login: it must never panic, and must answer bad_request or
// invalid_credentials, never an internal error.
func FuzzLoginFinish(f *testing.F) {
	proof := base64.StdEncoding.EncodeToString(make([]byte, 32))
	for _, s := range []string{
		"c=biws,r=abcdefgh,p=" + proof, "c=biws,r=abcdefghSERVER,p=" + proof, "c=eSws,r=abcdefgh,p=" + proof,
		"c=biws,r=abcdefgh,p=AAAA", "c=biws,r=abcdefgh", "", "c=,r=,p=", "c=biws,r=abcdefgh,x=1,p=" + proof,
	} {
		f.Add(s)
	}
	e := newEnv(f)
	u := e.user(f, "fuzz@example.com")
	e.setPassword(f, u, "correct horse battery staple")
	f.Fuzz(func(t *testing.T, msg string) {
		ch, err := e.s.Begin(context.Background(), "n,,n=fuzz@example.com,r=abcdefgh")
		if err != nil {
			t.Fatal(err)
		}
		// Put the real combined nonce where the seed names it, so that
		// fuzzing reaches the proof check.
		msg = strings.Replace(msg, "abcdefghSERVER", ch.ServerFirst[2:strings.IndexByte(ch.ServerFirst, ',')], 1)
		_, err = e.s.Finish(context.Background(), ch.LoginID, msg)
		switch code := sesame.ErrorCode(err); code {
		case sesame.EBadRequest, sesame.EInvalidCredentials:
		default:
			t.Fatalf("Finish(%q) error = %v (code %q); want bad_request or invalid_credentials", msg, err, code)
		}
	})
}

// saltOf is the s= field of a server-first message.
func saltOf(serverFirst string) string {
	for _, f := range strings.Split(serverFirst, ",") {
		if strings.HasPrefix(f, "s=") {
			return f
		}
	}
	return ""
}
