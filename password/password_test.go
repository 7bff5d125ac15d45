package password

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"errors"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sesame-auth/sesame/internal/testkit"

	"github.com/xdg-go/scram"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/db"
	"github.com/sesame-auth/sesame/internal/testsmtp"
	"github.com/sesame-auth/sesame/mail"
)

// outbox is a Mailer that renders and keeps every draft it is given, at
// once, so a test reads a code as soon as the call returns. (mail.Queue's
// own tests cover the durable outbox; the server tests cover both
// together.)
type outbox struct {
	mu   sync.Mutex
	msgs []mail.Message
}

func (o *outbox) keep(d mail.Draft) {
	m, err := d.Render()
	if err != nil {
		panic(err)
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	o.msgs = append(o.msgs, m)
}

func (o *outbox) Prepare(d mail.Draft, expires time.Time) (sesame.QueuedMail, error) {
	o.keep(d)
	return sesame.QueuedMail{ID: sesame.NewID(), Recipient: d.To(), Payload: []byte("sealed"), ExpiresAt: expires}, nil
}

func (o *outbox) Queued(int) {}

func (o *outbox) Enqueue(d mail.Draft) bool {
	o.keep(d)
	return true
}

// last returns the latest message, failing the test if there is none.
func (o *outbox) last(t testing.TB) mail.Message {
	t.Helper()
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.msgs) == 0 {
		t.Fatal("no mail sent")
	}
	return o.msgs[len(o.msgs)-1]
}

type env struct {
	s     *Service
	d     *db.DB
	path  string // the SQLite file, for inspecting rows
	clock *testkit.Clock
	mail  *outbox
}

func newEnv(t testing.TB) *env {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "sesame.db")
	d, err := db.Open(ctx, "sqlite:"+path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	if err := d.Migrate(ctx, nil); err != nil {
		t.Fatal(err)
	}
	e := &env{d: d, path: path, clock: testkit.NewClock(time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)), mail: &outbox{}}
	secret := sesame.RootSecret(sesame.RandomBytes(32))
	e.s = New(Config{
		Store:       d,
		Mail:        e.mail,
		FakeSaltKey: secret.Key(sesame.PurposeFakeSalt),
		CodeKey:     secret.Key(sesame.PurposeCodeMAC),
		PublicURL:   "http://localhost:8080",
		Credentials: d,
		Now:         e.clock.Now,
	})
	return e
}

// verify runs VerifyCode and, when it proves the factor, its spends in one
// transaction, as signin.Complete would.
func (e *env) verify(ctx context.Context, p Pending, code string) (sesame.User, error) {
	proof, err := e.s.VerifyCode(ctx, p, code)
	if err != nil {
		return proof.User, err
	}
	err = e.d.SignInTx(ctx, func(tx *db.Tx) error { return proof.RunSpends(ctx, tx, e.clock.Now()) })
	return proof.User, err
}

func (e *env) user(t testing.TB, email string) sesame.User {
	t.Helper()
	u, _, err := e.d.EnsureUser(context.Background(), sesame.User{ID: sesame.NewID(), Email: email, WebAuthnHandle: sesame.RandomBytes(32), CreatedAt: e.clock.Now()})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// setPassword sets u's password as a browser would, with the keys a
// standard SCRAM client derives, and returns that client.
func (e *env) setPassword(t testing.TB, u sesame.User, password string) *scram.Client {
	t.Helper()
	ctx := context.Background()
	ch, err := e.s.SetBegin(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	cl, err := scram.SHA256.NewClient(u.Email, password, "")
	if err != nil {
		t.Fatal(err)
	}
	creds := cl.GetStoredCredentials(scram.KeyFactors{Salt: string(ch.Salt), Iters: ch.Iterations})
	if _, err := e.s.SetFinish(ctx, u.ID, SetKeys{SetID: ch.SetID, StoredKey: creds.StoredKey, ServerKey: creds.ServerKey}, sesame.Client{}); err != nil {
		t.Fatal(err)
	}
	return cl
}

// login runs one SCRAM login of cl through Begin and Finish and checks the
// server's signature.
func (e *env) login(t testing.TB, cl *scram.Client) (Login, error) {
	t.Helper()
	ctx := context.Background()
	conv := cl.NewConversation()
	first, err := conv.Step("")
	if err != nil {
		t.Fatal(err)
	}
	ch, err := e.s.Begin(ctx, first)
	if err != nil {
		t.Fatalf("Begin(%q): %v", first, err)
	}
	final, err := conv.Step(ch.ServerFirst)
	if err != nil {
		t.Fatalf("client step on %q: %v", ch.ServerFirst, err)
	}
	l, err := e.s.Finish(ctx, ch.LoginID, final)
	if err != nil {
		return l, err
	}
	if _, err := conv.Step(l.ServerFinal); err != nil || !conv.Valid() {
		t.Fatalf("the client refused the server signature %q: %v", l.ServerFinal, err)
	}
	return l, nil
}

func wantCode(t testing.TB, err error, code string) {
	t.Helper()
	if got := sesame.ErrorCode(err); got != code {
		t.Fatalf("error = %v (code %q); want code %q", err, got, code)
	}
}

func TestLoginWithGoSCRAMClient(t *testing.T) {
	e := newEnv(t)
	u := e.user(t, "alice@example.com")
	cl := e.setPassword(t, u, "correct horse battery staple")
	l, err := e.login(t, cl)
	if err != nil {
		t.Fatalf("login: %v", err)
	}
	if l.User.ID != u.ID || !strings.HasPrefix(l.ServerFinal, "v=") || len(l.Methods) != 1 || l.Methods[0] != "email_otp" {
		t.Fatalf("login = %+v; want alice, v=…, [email_otp]", l)
	}
	// The SCRAM user name is normalised like any address.
	upper, _ := scram.SHA256.NewClient("  Alice@EXAMPLE.com", "correct horse battery staple", "")
	if _, err := e.login(t, upper); err != nil {
		t.Fatalf("login as Alice@EXAMPLE.com: %v", err)
	}
	wrong, _ := scram.SHA256.NewClient(u.Email, "correct horse battery stapler", "")
	_, err = e.login(t, wrong)
	wantCode(t, err, sesame.EInvalidCredentials)
}

func TestLoginOffersPasskey(t *testing.T) {
	e := newEnv(t)
	u := e.user(t, "pk@example.com")
	cl := e.setPassword(t, u, "correct horse battery staple")
	if err := e.d.CreateCredential(context.Background(), sesame.Credential{
		ID: sesame.RandomBytes(16), UserID: u.ID, Name: "key", PublicKey: []byte{1}, AAGUID: make([]byte, 16), CreatedAt: e.clock.Now(),
	}); err != nil {
		t.Fatal(err)
	}
	l, err := e.login(t, cl)
	if err != nil || len(l.Methods) != 2 || l.Methods[0] != "webauthn" || l.Methods[1] != "email_otp" {
		t.Fatalf("login = %+v, %v; want methods [webauthn email_otp]", l, err)
	}
}

func TestFinishSpendsTheLogin(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	u := e.user(t, "bob@example.com")
	cl := e.setPassword(t, u, "hunter2hunter2")

	begin := func() (*scram.ClientConversation, Challenge, string) {
		conv := cl.NewConversation()
		first, _ := conv.Step("")
		ch, err := e.s.Begin(ctx, first)
		if err != nil {
			t.Fatal(err)
		}
		final, err := conv.Step(ch.ServerFirst)
		if err != nil {
			t.Fatal(err)
		}
		return conv, ch, final
	}

	// Replay: the same client-final a second time is refused.
	_, ch, final := begin()
	if _, err := e.s.Finish(ctx, ch.LoginID, final); err != nil {
		t.Fatal(err)
	}
	_, err := e.s.Finish(ctx, ch.LoginID, final)
	wantCode(t, err, sesame.EUsed)

	// A failed proof spends the login too: the right one cannot follow.
	_, ch, final = begin()
	bad := final[:strings.LastIndex(final, ",p=")+3] + base64.StdEncoding.EncodeToString(make([]byte, 32))
	_, err = e.s.Finish(ctx, ch.LoginID, bad)
	wantCode(t, err, sesame.EInvalidCredentials)
	_, err = e.s.Finish(ctx, ch.LoginID, final)
	wantCode(t, err, sesame.EUsed)

	// The login dies after 60 s.
	_, ch, final = begin()
	e.clock.Advance(61 * time.Second)
	_, err = e.s.Finish(ctx, ch.LoginID, final)
	wantCode(t, err, sesame.EExpired)

	// At 59 s it still works.
	_, ch, final = begin()
	e.clock.Advance(59 * time.Second)
	if _, err := e.s.Finish(ctx, ch.LoginID, final); err != nil {
		t.Fatalf("finish at 59 s: %v", err)
	}

	// A tampered combined nonce fails.
	_, ch, final = begin()
	tampered := strings.Replace(final, ",r=", ",r=X", 1)
	_, err = e.s.Finish(ctx, ch.LoginID, tampered)
	wantCode(t, err, sesame.EInvalidCredentials)

	// Unknown login ids look expired.
	_, err = e.s.Finish(ctx, "nope", final)
	wantCode(t, err, sesame.EExpired)
}

func TestConcurrentFinishOnce(t *testing.T) {
	e := newEnv(t)
	u := e.user(t, "race@example.com")
	cl := e.setPassword(t, u, "hunter2hunter2")
	conv := cl.NewConversation()
	first, _ := conv.Step("")
	ch, err := e.s.Begin(context.Background(), first)
	if err != nil {
		t.Fatal(err)
	}
	final, _ := conv.Step(ch.ServerFirst)
	var ok atomic.Int32
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := e.s.Finish(context.Background(), ch.LoginID, final); err == nil {
				ok.Add(1)
			} else if c := sesame.ErrorCode(err); c != sesame.EUsed {
				t.Errorf("concurrent finish: %v", err)
			}
		}()
	}
	wg.Wait()
	if ok.Load() != 1 {
		t.Fatalf("%d of 20 concurrent finishes succeeded; want 1", ok.Load())
	}
}

// parseServerFirst splits "r=…,s=…,i=…", failing the test on anything else.
func parseServerFirst(t testing.TB, s string) (nonce string, salt []byte, iterations int) {
	t.Helper()
	f := strings.Split(s, ",")
	if len(f) != 3 || !strings.HasPrefix(f[0], "r=") || !strings.HasPrefix(f[1], "s=") || !strings.HasPrefix(f[2], "i=") {
		t.Fatalf("server_first %q is not r=…,s=…,i=…", s)
	}
	salt, err := base64.StdEncoding.DecodeString(f[1][2:])
	if err != nil {
		t.Fatalf("server_first %q: salt: %v", s, err)
	}
	iterations, err = strconv.Atoi(f[2][2:])
	if err != nil {
		t.Fatalf("server_first %q: iterations: %v", s, err)
	}
	return f[0][2:], salt, iterations
}

func TestUnknownUsersLookTheSame(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	known := e.user(t, "known@example.com")
	e.setPassword(t, known, "hunter2hunter2")
	e.user(t, "nopassword@example.com")

	serverFirst := func(email string) string {
		ch, err := e.s.Begin(ctx, "n,,n="+email+",r=clientnonce123")
		if err != nil {
			t.Fatal(err)
		}
		return ch.ServerFirst
	}
	_, knownSalt, knownIters := parseServerFirst(t, serverFirst("known@example.com"))
	for _, email := range []string{"ghost@example.com", "nopassword@example.com"} {
		nonce, salt, iters := parseServerFirst(t, serverFirst(email))
		_, again, _ := parseServerFirst(t, serverFirst(strings.ToUpper(email[:1])+email[1:]))
		if !strings.HasPrefix(nonce, "clientnonce123") || len(nonce) < len("clientnonce123")+16 {
			t.Errorf("%s: nonce %q does not extend the client's by 128+ bits", email, nonce)
		}
		if len(salt) != len(knownSalt) || iters != knownIters || iters != MinIterations {
			t.Errorf("%s: salt %d bytes, %d iterations; want %d bytes, %d as for a real user", email, len(salt), iters, len(knownSalt), knownIters)
		}
		if string(salt) != string(again) {
			t.Errorf("%s: fake salt changed between logins", email)
		}
		// And the login fails at the end, with the same error as a wrong password.
		cl, _ := scram.SHA256.NewClient(email, "hunter2hunter2", "")
		_, err := e.login(t, cl)
		wantCode(t, err, sesame.EInvalidCredentials)
	}
	_, ghost, _ := parseServerFirst(t, serverFirst("ghost@example.com"))
	_, other, _ := parseServerFirst(t, serverFirst("ghost2@example.com"))
	if string(ghost) == string(other) {
		t.Error("two unknown addresses got the same fake salt")
	}
}

func TestParseClientFirst(t *testing.T) {
	for _, tc := range []struct {
		in         string
		name, nonc string // want; empty name means an error
	}{
		{"n,,n=a@b.c,r=abcdefgh", "a@b.c", "abcdefgh"},
		{"n,,n=a=2Cb=3D@b.c,r=abcdefgh", "a,b=@b.c", "abcdefgh"},
		{"", "", ""},
		{"n,,", "", ""},
		{"n,,n=a@b.c", "", ""},
		{"n,,n=a@b.c,r=", "", ""},
		{"n,,n=a@b.c,r=short", "", ""},
		{"n,,r=abcdefgh,n=a@b.c", "", ""},
		{"y,,n=a@b.c,r=abcdefgh", "", ""},
		{"p=tls-unique,,n=a@b.c,r=abcdefgh", "", ""},
		{"n,a=admin,n=a@b.c,r=abcdefgh", "", ""},
		{"n,,m=ext,n=a@b.c,r=abcdefgh", "", ""},
		{"n,,n=a@b.c,r=abcdefgh,x=ext", "", ""},
		{"n,,n=a=2@b.c,r=abcdefgh", "", ""},
		{"n,,n=,r=abcdefgh", "", ""},
		{"n,,n=a@b.c,r=abc defgh", "", ""},
		{"n,,n=a@b.c,r=abc\x7fdefgh", "", ""},
		{"n,,n=a@b.c,r=" + strings.Repeat("x", maxNonceLength+1), "", ""},
		{"n,,n=\xff@b.c,r=abcdefgh", "", ""},
		{"n,,n=" + strings.Repeat("a", maxMessageLength) + ",r=abcdefgh", "", ""},
	} {
		got, err := parseClientFirst(tc.in)
		if tc.name == "" {
			if sesame.ErrorCode(err) != sesame.EBadRequest {
				t.Errorf("parseClientFirst(%q) = %+v, %v; want bad_request", tc.in, got, err)
			}
			continue
		}
		if err != nil || got.username != tc.name || got.nonce != tc.nonc {
			t.Errorf("parseClientFirst(%q) = %+v, %v; want %q, %q", tc.in, got, err, tc.name, tc.nonc)
		}
	}
}

func TestParseClientFinal(t *testing.T) {
	proof := base64.StdEncoding.EncodeToString(make([]byte, 32))
	nonce := "abcdefgh" + strings.Repeat("X", serverNonceLength) // client nonce, then the server's
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"c=biws,r=" + nonce + ",p=" + proof, true},
		{"", false},
		{"c=biws,r=" + nonce + "", false},
		{"c=biws,p=" + proof + ",r=" + nonce + "", false},
		{"c=eSws,r=" + nonce + ",p=" + proof, false}, // y,,
		{"c=bixhPWFkbWluLA==,r=" + nonce + ",p=" + proof, false},
		{"c=biws,r=" + nonce + ",x=ext,p=" + proof, false},
		{"c=biws,r=" + nonce + ",p=" + base64.StdEncoding.EncodeToString(make([]byte, 20)), false},
		{"c=biws,r=" + nonce + ",p=!!!!", false},
		{"c=biws,r=" + nonce + ",p=" + strings.TrimRight(proof, "="), false},
		{"c=biws,r=,p=" + proof, false},
		{"c=biws,r=abc\x00defgh,p=" + proof, false},
		{"c=biws,r=" + strings.Repeat("x", maxMessageLength) + ",p=" + proof, false},
	} {
		_, err := parseClientFinal(tc.in)
		if tc.ok != (err == nil) || (err != nil && sesame.ErrorCode(err) != sesame.EBadRequest) {
			t.Errorf("parseClientFinal(%q) error = %v; want ok=%v (else bad_request)", tc.in, err, tc.ok)
		}
	}
}

func TestMalformedFinishIsBadRequest(t *testing.T) {
	e := newEnv(t)
	ch, err := e.s.Begin(context.Background(), "n,,n=a@example.com,r=abcdefgh")
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.s.Finish(context.Background(), ch.LoginID, "c=biws,r=x")
	wantCode(t, err, sesame.EBadRequest)
	_, err = e.s.Finish(context.Background(), "", "c=biws,r=x")
	wantCode(t, err, sesame.EBadRequest)
	_, err = e.s.Begin(context.Background(), "n,,n=not-an-address,r=abcdefgh")
	wantCode(t, err, sesame.EBadRequest)
	_, err = e.s.Begin(context.Background(), "n,,n=a\u0007@example.com,r=abcdefgh") // SASLprep prohibits controls
	wantCode(t, err, sesame.EBadRequest)
}

// TestStoredColumns inspects the database: a password row holds only the
// salt, the count, StoredKey and ServerKey, never SaltedPassword or
// ClientKey (SECURITY rule 20).
func TestStoredColumns(t *testing.T) {
	e := newEnv(t)
	u := e.user(t, "carol@example.com")
	const pw = "correct horse battery staple"
	e.setPassword(t, u, pw)

	raw, err := sql.Open("sqlite3", "file:"+e.path+"?_query_only=1")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	rows, err := raw.Query(`SELECT * FROM passwords`)
	if err != nil {
		t.Fatal(err)
	}
	cols, _ := rows.Columns()
	want := "user_id salt iterations stored_key server_key created_at updated_at"
	if strings.Join(cols, " ") != want {
		t.Fatalf("passwords columns = %v; want %s", cols, want)
	}
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if !rows.Next() {
		t.Fatal("no password row")
	}
	if err := rows.Scan(ptrs...); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	salt, iterations := vals[1].([]byte), vals[2].(int64)
	storedKey, serverKey := vals[3].([]byte), vals[4].([]byte)

	// Derive what must never be stored and look for it in every column.
	cl, _ := scram.SHA256.NewClient(u.Email, pw, "")
	creds := cl.GetStoredCredentials(scram.KeyFactors{Salt: string(salt), Iters: int(iterations)})
	salted := pbkdf2SHA256(pw, salt, int(iterations))
	clientKey := hmacSHA256(salted, "Client Key")
	if h := sha256.Sum256(clientKey); !hmac.Equal(h[:], storedKey) || !hmac.Equal(creds.StoredKey, storedKey) || !hmac.Equal(creds.ServerKey, serverKey) {
		t.Fatal("stored_key is not H(ClientKey) or server_key is not ServerKey")
	}
	if len(salt) != SaltLength || iterations != MinIterations {
		t.Fatalf("salt %d bytes, %d iterations; want %d, %d", len(salt), iterations, SaltLength, MinIterations)
	}
	for i, v := range vals {
		var b []byte
		switch x := v.(type) {
		case []byte:
			b = x
		case string:
			b = []byte(x)
		}
		for _, secret := range [][]byte{salted, clientKey, []byte(pw)} {
			if bytes.Contains(b, secret) {
				t.Fatalf("column %s holds SaltedPassword, ClientKey or the password", cols[i])
			}
		}
	}
}

func TestSetPassword(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	u := e.user(t, "dave@example.com")
	other := e.user(t, "erin@example.com")
	key := sesame.RandomBytes(32)

	if has, err := e.s.Has(ctx, u.ID); err != nil || has {
		t.Fatalf("Has = %v, %v; want false", has, err)
	}
	ch, err := e.s.SetBegin(ctx, u.ID)
	if err != nil || len(ch.Salt) < 16 || ch.Iterations != MinIterations || ch.ExpiresIn != 10*time.Minute {
		t.Fatalf("SetBegin = %+v, %v", ch, err)
	}
	for _, tc := range []struct {
		name string
		user string
		k    SetKeys
		code string
	}{
		{"too few iterations", u.ID, SetKeys{SetID: ch.SetID, Iterations: 4096, StoredKey: key, ServerKey: key}, sesame.EBadRequest},
		{"other iterations", u.ID, SetKeys{SetID: ch.SetID, Iterations: MinIterations + 1, StoredKey: key, ServerKey: key}, sesame.EBadRequest},
		{"short key", u.ID, SetKeys{SetID: ch.SetID, StoredKey: key[:16], ServerKey: key}, sesame.EBadRequest},
		{"no set id", u.ID, SetKeys{StoredKey: key, ServerKey: key}, sesame.EBadRequest},
		{"someone else's set", other.ID, SetKeys{SetID: ch.SetID, StoredKey: key, ServerKey: key}, sesame.EExpired},
	} {
		_, err := e.s.SetFinish(ctx, tc.user, tc.k, sesame.Client{})
		if sesame.ErrorCode(err) != tc.code {
			t.Errorf("%s: SetFinish error = %v; want %s", tc.name, err, tc.code)
		}
	}
	replaced, err := e.s.SetFinish(ctx, u.ID, SetKeys{SetID: ch.SetID, Iterations: MinIterations, StoredKey: key, ServerKey: key}, sesame.Client{IP: "192.0.2.1"})
	if err != nil || replaced {
		t.Fatalf("SetFinish = %v, %v; want a first password", replaced, err)
	}
	if m := e.mail.last(t); m.To != u.Email || !strings.Contains(strings.ToLower(m.Subject), "password") {
		t.Errorf("notice = %q to %s; want a password notice to %s", m.Subject, m.To, u.Email)
	}
	// The set is single-use.
	_, err = e.s.SetFinish(ctx, u.ID, SetKeys{SetID: ch.SetID, StoredKey: key, ServerKey: key}, sesame.Client{})
	wantCode(t, err, sesame.EExpired)
	// A set expires after 10 minutes.
	ch, _ = e.s.SetBegin(ctx, u.ID)
	e.clock.Advance(10*time.Minute + time.Second)
	_, err = e.s.SetFinish(ctx, u.ID, SetKeys{SetID: ch.SetID, StoredKey: key, ServerKey: key}, sesame.Client{})
	wantCode(t, err, sesame.EExpired)
	// Changing reports the replacement.
	ch, _ = e.s.SetBegin(ctx, u.ID)
	if replaced, err := e.s.SetFinish(ctx, u.ID, SetKeys{SetID: ch.SetID, StoredKey: key, ServerKey: key}, sesame.Client{}); err != nil || !replaced {
		t.Fatalf("change: SetFinish = %v, %v; want replaced", replaced, err)
	}
	if removed, err := e.s.Remove(ctx, u.ID, sesame.Client{}); err != nil || !removed {
		t.Fatalf("Remove = %v, %v; want removed", removed, err)
	}
	if removed, err := e.s.Remove(ctx, u.ID, sesame.Client{}); err != nil || removed {
		t.Fatalf("Remove again = %v, %v; want nothing removed", removed, err)
	}
	if has, _ := e.s.Has(ctx, u.ID); has {
		t.Fatal("Has after Remove = true")
	}
}

// pending proves a password for u and returns the MFA-pending token as the
// server would hold it after verifying its JWT.
func (e *env) pending(u sesame.User) Pending {
	return Pending{JTI: sesame.NewID(), UserID: u.ID, ExpiresAt: e.clock.Now().Add(5 * time.Minute)}
}

func (e *env) sendCode(t testing.TB, p Pending) string {
	t.Helper()
	if _, err := e.s.SendCode(context.Background(), p); err != nil {
		t.Fatalf("SendCode: %v", err)
	}
	m := e.mail.last(t)
	code := testsmtp.ExtractCode(m.Text)
	if code == "" {
		t.Fatalf("no code in %q", m.Text)
	}
	return code
}

func TestMFACode(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	u := e.user(t, "frank@example.com")
	p := e.pending(u)

	_, err := e.verify(ctx, p, "123456")
	wantCode(t, err, sesame.EBadRequest) // nothing sent yet
	code := e.sendCode(t, p)
	if m := e.mail.last(t); m.To != u.Email || !strings.Contains(m.Text, "expires in 5 minutes") {
		t.Fatalf("code went to %s saying %q; want %s, told it expires in 5 minutes (DefaultCodeTTL)", m.To, m.Text, u.Email)
	}
	got, err := e.verify(ctx, p, code)
	if err != nil || got.ID != u.ID {
		t.Fatalf("VerifyCode = %+v, %v; want frank", got, err)
	}
	// The token produced a session: nothing more from it.
	_, err = e.verify(ctx, p, code)
	wantCode(t, err, sesame.EUnauthorized)
	_, err = e.s.SendCode(ctx, p)
	wantCode(t, err, sesame.EUnauthorized)
	wantCode(t, e.s.Spend(ctx, p), sesame.EUnauthorized)
}

func TestMFASixthCodeFails(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	u := e.user(t, "grace@example.com")
	p := e.pending(u)
	code := e.sendCode(t, p)
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	for left := 4; left >= 0; left-- {
		_, err := e.verify(ctx, p, wrong)
		var se *sesame.Error
		if !errors.As(err, &se) || se.Code != sesame.EInvalidCode || se.Extra["attempts_left"] != left {
			t.Fatalf("wrong code: %v; want invalid_code with %d attempts left", err, left)
		}
	}
	_, err := e.verify(ctx, p, code)
	wantCode(t, err, sesame.EUnauthorized)
	// The token is dead for every second factor, and no new code revives it.
	_, err = e.s.SendCode(ctx, p)
	wantCode(t, err, sesame.EUnauthorized)
	_, err = e.s.Check(ctx, p)
	wantCode(t, err, sesame.EUnauthorized)
}

func TestMFAResends(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	u := e.user(t, "heidi@example.com")
	p := e.pending(u)
	var codes []string
	for range DefaultMaxSends {
		codes = append(codes, e.sendCode(t, p))
	}
	_, err := e.s.SendCode(ctx, p)
	wantCode(t, err, sesame.ERateLimited)
	// Only the newest code works.
	if codes[0] != codes[len(codes)-1] {
		_, err = e.verify(ctx, p, codes[0])
		wantCode(t, err, sesame.EInvalidCode)
	}
	if _, err := e.verify(ctx, p, codes[len(codes)-1]); err != nil {
		t.Fatalf("newest code: %v", err)
	}
}

func TestMFACodeExpires(t *testing.T) {
	e := newEnv(t)
	u := e.user(t, "ivan@example.com")
	p := e.pending(u)
	p.ExpiresAt = p.ExpiresAt.Add(time.Hour) // the JWT's own expiry is not this package's concern
	code := e.sendCode(t, p)
	e.clock.Advance(5*time.Minute + time.Second)
	_, err := e.verify(context.Background(), p, code)
	wantCode(t, err, sesame.EExpired)
}

func TestMFAConcurrentVerifyOnce(t *testing.T) {
	e := newEnv(t)
	u := e.user(t, "judy@example.com")
	p := e.pending(u)
	code := e.sendCode(t, p)
	var ok atomic.Int32
	var wg sync.WaitGroup
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := e.verify(context.Background(), p, code); err == nil {
				ok.Add(1)
			} else if sesame.ErrorCode(err) != sesame.EUnauthorized {
				t.Errorf("concurrent verify: %v", err)
			}
		}()
	}
	wg.Wait()
	if ok.Load() != 1 {
		t.Fatalf("%d of 10 concurrent verifies succeeded; want 1", ok.Load())
	}
}

func TestMFAUnknownUser(t *testing.T) {
	e := newEnv(t)
	// A pending token whose user no longer exists is dead.
	_, err := e.s.SendCode(context.Background(), Pending{JTI: sesame.NewID(), UserID: "ghost", ExpiresAt: e.clock.Now().Add(time.Minute)})
	wantCode(t, err, sesame.EUnauthorized)
}
