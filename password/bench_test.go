package password

import (
	"context"
	"testing"

	"golang.org/x/crypto/argon2"
)

// BenchmarkSCRAMLogin measures the server's side of one password login,
// begin and finish, on SQLite. The client's PBKDF2 (600,000 iterations)
// runs once, outside the timer, and its per-login HMACs are not timed
// either: this is what a login costs the server.
func BenchmarkSCRAMLogin(b *testing.B) {
	e := newEnv(b)
	ctx := context.Background()
	u := e.user(b, "bench@example.com")
	cl := e.setPassword(b, u, "correct horse battery staple")
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		conv := cl.NewConversation()
		first, _ := conv.Step("")
		b.StartTimer()
		ch, err := e.s.Begin(ctx, first)
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		final, err := conv.Step(ch.ServerFirst)
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if _, err := e.s.Finish(ctx, ch.LoginID, final); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkArgon2id is what a server that hashes passwords itself pays per
// login: one argon2id hash at OWASP's recommended parameters (m=19 MiB,
// t=2, p=1).
func BenchmarkArgon2id(b *testing.B) {
	password, salt := []byte("correct horse battery staple"), []byte("0123456789abcdef")
	b.ReportAllocs()
	for range b.N {
		argon2.IDKey(password, salt, 2, 19*1024, 1, 32)
	}
}
