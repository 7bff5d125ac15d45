package webauthn_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sesame-auth/sesame/internal/testkit"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/db"
	"github.com/sesame-auth/sesame/db/dbtest"
	"github.com/sesame-auth/sesame/internal/testauthn"
	"github.com/sesame-auth/sesame/internal/testserver"
	"github.com/sesame-auth/sesame/mail"
	"github.com/sesame-auth/sesame/signin"
	"github.com/sesame-auth/sesame/webauthn"
)

const origin = "http://localhost:8080"

// mailbox is a Mailer that renders and keeps what it is given.
type mailbox struct {
	mu   sync.Mutex
	msgs []mail.Message
}

func (m *mailbox) Enqueue(d mail.Draft) bool {
	msg, err := d.Render()
	if err != nil {
		panic(err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.msgs = append(m.msgs, msg)
	return true
}

func (m *mailbox) all() []mail.Message {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.msgs)
}

// logBuffer collects log output safely across goroutines.
type logBuffer = testkit.LogBuffer

type fixture struct {
	svc   *webauthn.Service
	db    *db.DB
	clock *testserver.Clock
	mail  *mailbox
	logs  *logBuffer
}

var key, challengeKey = bytes.Repeat([]byte{7}, 32), bytes.Repeat([]byte{9}, 32)

func config(d *db.DB, clock *testserver.Clock, mb *mailbox, logs *logBuffer) webauthn.Config {
	return webauthn.Config{
		Store:             d,
		Mail:              mb,
		PublicURL:         origin,
		FakeCredentialKey: key,
		ChallengeKey:      challengeKey,
		Logger:            slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Now:               clock.Now,
	}
}

// newFixture is a Service on a fresh SQLite database; edit changes its
// configuration.
func newFixture(t testing.TB, edit func(*webauthn.Config)) *fixture {
	t.Helper()
	f := &fixture{db: dbtest.SQLite(t), clock: testserver.NewClock(time.Now()), mail: &mailbox{}, logs: &logBuffer{}}
	cfg := config(f.db, f.clock, f.mail, f.logs)
	if edit != nil {
		edit(&cfg)
	}
	svc, err := webauthn.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	f.svc = svc
	return f
}

func (f *fixture) user(t testing.TB, email string) sesame.User {
	t.Helper()
	u, _, err := f.db.EnsureUser(context.Background(), sesame.User{ID: sesame.NewID(), Email: email, WebAuthnHandle: sesame.RandomBytes(32), CreatedAt: f.clock.Now()})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// register adds a credential from a to u and fails the test unless it
// works.
func (f *fixture) register(t testing.TB, u sesame.User, a *testauthn.Authenticator, name string) sesame.Credential {
	t.Helper()
	c, err := f.tryRegister(t, u, a, name)
	if err != nil {
		t.Fatalf("register: %v", err)
	}
	return c
}

func (f *fixture) tryRegister(t testing.TB, u sesame.User, a *testauthn.Authenticator, name string) (sesame.Credential, error) {
	t.Helper()
	ctx := context.Background()
	id, options, err := f.svc.BeginRegistration(ctx, u, "")
	if err != nil {
		t.Fatal(err)
	}
	resp, err := a.Create(options)
	if err != nil {
		t.Fatal(err)
	}
	return f.svc.FinishRegistration(ctx, u, id, resp, name)
}

// login signs in with a: email-first, or discoverably when email is "".
func (f *fixture) login(t testing.TB, a *testauthn.Authenticator, email string) (sesame.User, sesame.Credential, []string, error) {
	t.Helper()
	ctx := context.Background()
	id, options, err := f.svc.BeginLogin(ctx, email)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := a.Get(options)
	if err != nil {
		t.Fatal(err)
	}
	return f.finishLogin(ctx, id, resp)
}

// finishLogin finishes a login ceremony and, when it verifies, runs the
// proof's spends in one transaction as signin.Complete would. It returns
// the user, the credential as stored after the sign-in, and the amr.
func (f *fixture) finishLogin(ctx context.Context, id string, resp []byte) (sesame.User, sesame.Credential, []string, error) {
	return finishLogin(ctx, f.db, f.svc, f.clock.Now(), id, resp)
}

func finishLogin(ctx context.Context, d *db.DB, svc *webauthn.Service, now time.Time, id string, resp []byte) (sesame.User, sesame.Credential, []string, error) {
	proof, err := svc.FinishLogin(ctx, id, resp)
	return spent(ctx, d, now, proof, err)
}

// finishMFA is finishLogin for an MFA ceremony.
func (f *fixture) finishMFA(ctx context.Context, u sesame.User, id string, resp []byte) (sesame.Credential, []string, error) {
	proof, err := f.svc.FinishMFA(ctx, u, id, resp)
	_, c, amr, err := spent(ctx, f.db, f.clock.Now(), proof, err)
	return c, amr, err
}

func spent(ctx context.Context, d *db.DB, now time.Time, proof signin.Proof, err error) (sesame.User, sesame.Credential, []string, error) {
	if err != nil {
		return proof.User, sesame.Credential{}, nil, err
	}
	if err := d.SignInTx(ctx, func(tx *db.Tx) error { return proof.RunSpends(ctx, tx, now) }); err != nil {
		return proof.User, sesame.Credential{}, nil, err
	}
	c, err := d.CredentialByID(ctx, proof.CredentialID)
	return proof.User, c, proof.AMR, err
}

func wantCode(t testing.TB, err error, code string) {
	t.Helper()
	if got := sesame.ErrorCode(err); got != code {
		t.Fatalf("error = %v (code %q); want code %q", err, got, code)
	}
}

func TestNewChecksConfig(t *testing.T) {
	d := dbtest.SQLite(t)
	for _, tc := range []struct {
		name string
		edit func(*webauthn.Config)
		ok   bool
	}{
		{"defaults", func(*webauthn.Config) {}, true},
		{"uv required", func(c *webauthn.Config) { c.UserVerification = "required" }, true},
		{"uv discouraged", func(c *webauthn.Config) { c.UserVerification = "discouraged" }, false},
		{"no public URL", func(c *webauthn.Config) { c.PublicURL = "" }, false},
		{"IP address", func(c *webauthn.Config) { c.PublicURL = "http://127.0.0.1:8080" }, false},
		{"short key", func(c *webauthn.Config) { c.FakeCredentialKey = key[:16] }, false},
		{"short challenge key", func(c *webauthn.Config) { c.ChallengeKey = challengeKey[:31] }, false},
		{"https public URL", func(c *webauthn.Config) { c.PublicURL = "https://id.example.com" }, true},
		{"ftp public URL", func(c *webauthn.Config) { c.PublicURL = "ftp://id.example.com" }, false},
		{"extra https origin", func(c *webauthn.Config) { c.ExtraOrigins = []string{"https://app.localhost"} }, true},
		{"extra http origin", func(c *webauthn.Config) { c.ExtraOrigins = []string{"http://app.localhost:3000"} }, true},
		{"extra ftp origin", func(c *webauthn.Config) { c.ExtraOrigins = []string{"ftp://app.localhost"} }, false},
		{"native app origin", func(c *webauthn.Config) {
			c.ExtraOrigins = []string{"android:apk-key-hash:" + base64.RawURLEncoding.EncodeToString(key)}
		}, true},
		{"extra origin with path", func(c *webauthn.Config) { c.ExtraOrigins = []string{"https://app.localhost/x"} }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := config(d, testserver.NewClock(time.Now()), &mailbox{}, &logBuffer{})
			tc.edit(&cfg)
			if _, err := webauthn.New(cfg); (err == nil) != tc.ok {
				t.Fatalf("New = %v; want ok %v", err, tc.ok)
			}
		})
	}
}

// TestRegistrationOptions checks the W3C JSON creation options per
// authenticator kind (SECURITY rules 1, 3, 5, 9).
func TestRegistrationOptions(t *testing.T) {
	for _, tc := range []struct {
		kind, uv                      string
		residentKey, attachment, hint string
		requireResidentKey, wantedUV  any
	}{
		{kind: "", residentKey: "required", requireResidentKey: true, wantedUV: "preferred"},
		{kind: "platform", residentKey: "required", requireResidentKey: true, attachment: "platform", hint: "client-device", wantedUV: "preferred"},
		{kind: "cross-platform", residentKey: "preferred", requireResidentKey: false, attachment: "cross-platform", hint: "security-key", wantedUV: "preferred"},
		{kind: "", uv: "required", residentKey: "required", requireResidentKey: true, wantedUV: "required"},
	} {
		t.Run(tc.kind+"/"+tc.uv, func(t *testing.T) {
			f := newFixture(t, func(c *webauthn.Config) { c.UserVerification = tc.uv })
			u := f.user(t, "alice@example.com")
			existing := f.register(t, u, testauthn.New(origin), "")
			id, raw, err := f.svc.BeginRegistration(context.Background(), u, tc.kind)
			if err != nil || id == "" {
				t.Fatalf("BeginRegistration = %q, %v", id, err)
			}
			var o struct {
				RP               struct{ ID, Name string }
				User             struct{ ID, Name, DisplayName string }
				Challenge        string
				PubKeyCredParams []struct {
					Type string
					Alg  int
				}
				Timeout                int
				ExcludeCredentials     []struct{ Type, ID string }
				AuthenticatorSelection struct {
					AuthenticatorAttachment string
					RequireResidentKey      any
					ResidentKey             string
					UserVerification        string
				}
				Hints       []string
				Attestation string
			}
			if err := json.Unmarshal(raw, &o); err != nil {
				t.Fatal(err)
			}
			challenge, err := base64.RawURLEncoding.DecodeString(o.Challenge)
			if err != nil || len(challenge) != 32 {
				t.Errorf("challenge %q: %d bytes, %v; want 32 bytes base64url", o.Challenge, len(challenge), err)
			}
			handle, err := base64.RawURLEncoding.DecodeString(o.User.ID)
			if err != nil || !bytes.Equal(handle, u.WebAuthnHandle) {
				t.Errorf("user.id = %q; want the user handle, base64url", o.User.ID)
			}
			if o.RP.ID != "localhost" || o.RP.Name != "Sesame" || o.User.Name != u.Email || o.Timeout != 300_000 || o.Attestation != "none" {
				t.Errorf("rp %+v, user %+v, timeout %d, attestation %q", o.RP, o.User, o.Timeout, o.Attestation)
			}
			var algs []int
			for _, p := range o.PubKeyCredParams {
				algs = append(algs, p.Alg)
			}
			if !slices.Equal(algs, []int{-7, -8, -257}) {
				t.Errorf("algorithms = %v; want [-7 -8 -257]", algs)
			}
			if len(o.ExcludeCredentials) != 1 || o.ExcludeCredentials[0].ID != webauthn.CredentialID(existing.ID) || o.ExcludeCredentials[0].Type != "public-key" {
				t.Errorf("excludeCredentials = %+v; want the existing credential", o.ExcludeCredentials)
			}
			sel := o.AuthenticatorSelection
			if sel.ResidentKey != tc.residentKey || sel.RequireResidentKey != tc.requireResidentKey ||
				sel.AuthenticatorAttachment != tc.attachment || sel.UserVerification != tc.wantedUV {
				t.Errorf("authenticatorSelection = %+v", sel)
			}
			if (tc.hint == "" && len(o.Hints) != 0) || (tc.hint != "" && !slices.Equal(o.Hints, []string{tc.hint})) {
				t.Errorf("hints = %v; want %q", o.Hints, tc.hint)
			}
		})
	}
	f := newFixture(t, nil)
	_, _, err := f.svc.BeginRegistration(context.Background(), f.user(t, "bob@example.com"), "usb")
	wantCode(t, err, sesame.EBadRequest)
}

func TestRegisterAndSignIn(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	alice := f.user(t, "alice@example.com")
	icloud, _ := hex.DecodeString("fbfc3007154e4ecc8c0b6e020557d7bd")
	a := testauthn.New(origin)
	copy(a.AAGUID[:], icloud)
	a.Options.BackupEligible, a.Options.BackupState = true, true

	rec := f.register(t, alice, a, "")
	if rec.Name != "Apple Passwords" || rec.UserID != alice.ID || !rec.BackupEligible || !rec.BackupState || !rec.UserVerified ||
		rec.AttestationFormat != "packed" || !bytes.Equal(rec.AAGUID, icloud) || rec.Attachment != "platform" ||
		!slices.Equal(rec.Transports, []string{"hybrid", "internal"}) || rec.LastUsedAt != nil {
		t.Errorf("registered %+v", rec)
	}
	msgs := f.mail.all()
	if len(msgs) != 1 || msgs[0].To != alice.Email || !strings.Contains(msgs[0].Text, `"Apple Passwords"`) {
		t.Errorf("notices = %+v; want one passkey notice to alice", msgs)
	}
	// A name given wins; an unknown authenticator is "Passkey".
	if c := f.register(t, alice, testauthn.New(origin), "  Work\nlaptop "); c.Name != "Work laptop" {
		t.Errorf("name = %q; want %q", c.Name, "Work laptop")
	}
	if c := f.register(t, alice, testauthn.New(origin), ""); c.Name != "Passkey" {
		t.Errorf("name = %q; want Passkey", c.Name)
	}

	for _, email := range []string{"", "alice@example.com", " Alice@EXAMPLE.com "} {
		u, c, amr, err := f.login(t, a, email)
		if err != nil || u.ID != alice.ID || !bytes.Equal(c.ID, rec.ID) || !slices.Equal(amr, []string{"swk", "user"}) {
			t.Fatalf("login(%q) = %s, %x, %v, %v; want alice, swk user", email, u.ID, c.ID, amr, err)
		}
	}
	stored, err := f.db.CredentialByID(ctx, rec.ID)
	if err != nil || stored.LastUsedAt == nil || !stored.LastUsedAt.Equal(f.clock.Now().Truncate(time.Millisecond)) {
		t.Errorf("after sign-in: last used %v, %v", stored.LastUsedAt, err)
	}
	list, err := f.svc.List(ctx, alice.ID)
	if err != nil || len(list) != 3 {
		t.Errorf("List = %d, %v; want 3", len(list), err)
	}
}

// TestAMR: "hwk" or "swk" by BE, "user" only when this assertion had UV.
func TestAMR(t *testing.T) {
	for _, tc := range []struct {
		be, noUV bool
		want     []string
	}{
		{false, false, []string{"hwk", "user"}},
		{false, true, []string{"hwk"}},
		{true, false, []string{"swk", "user"}},
		{true, true, []string{"swk"}},
	} {
		f := newFixture(t, nil)
		a := testauthn.New(origin)
		a.Options.BackupEligible = tc.be
		f.register(t, f.user(t, "a@example.com"), a, "")
		a.Options.UserNotVerified = tc.noUV
		if _, _, amr, err := f.login(t, a, ""); err != nil || !slices.Equal(amr, tc.want) {
			t.Errorf("BE=%v UV=%v: amr = %v, %v; want %v", tc.be, !tc.noUV, amr, err, tc.want)
		}
	}
}

// TestUserVerificationRequired: with UV required, UV=0 fails both ways.
func TestUserVerificationRequired(t *testing.T) {
	f := newFixture(t, func(c *webauthn.Config) { c.UserVerification = webauthn.UVRequired })
	u := f.user(t, "a@example.com")
	a := testauthn.New(origin)
	a.Options.UserNotVerified = true
	_, err := f.tryRegister(t, u, a, "")
	wantCode(t, err, sesame.ECeremonyFailed)
	b := testauthn.New(origin)
	f.register(t, u, b, "")
	b.Options.UserNotVerified = true
	_, _, _, err = f.login(t, b, "")
	wantCode(t, err, sesame.ECeremonyFailed)
}

// TestBackupFlags: SECURITY rule 4, flag permutations.
func TestBackupFlags(t *testing.T) {
	type flags struct{ be, bs bool }
	for _, tc := range []struct {
		name       string
		reg, login flags
		regOK      bool
		loginOK    bool
	}{
		{"device-bound", flags{false, false}, flags{false, false}, true, true},
		{"synced", flags{true, true}, flags{true, true}, true, true},
		{"becomes backed up", flags{true, false}, flags{true, true}, true, true},
		{"stops being backed up", flags{true, true}, flags{true, false}, true, true},
		{"BS without BE at registration", flags{false, true}, flags{}, false, false},
		{"BE appears", flags{false, false}, flags{true, false}, true, false},
		{"BE disappears", flags{true, true}, flags{false, false}, true, false},
		{"BS without BE at sign-in", flags{false, false}, flags{false, true}, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, nil)
			a := testauthn.New(origin)
			a.Options.BackupEligible, a.Options.BackupState = tc.reg.be, tc.reg.bs
			_, err := f.tryRegister(t, f.user(t, "a@example.com"), a, "")
			if (err == nil) != tc.regOK {
				t.Fatalf("register BE=%v BS=%v: %v; want ok %v", tc.reg.be, tc.reg.bs, err, tc.regOK)
			}
			if !tc.regOK {
				return
			}
			a.Options.BackupEligible, a.Options.BackupState = tc.login.be, tc.login.bs
			_, c, _, err := f.login(t, a, "")
			if (err == nil) != tc.loginOK {
				t.Fatalf("login BE=%v BS=%v: %v; want ok %v", tc.login.be, tc.login.bs, err, tc.loginOK)
			}
			if err != nil {
				wantCode(t, err, sesame.ECeremonyFailed)
				return
			}
			stored, _ := f.db.CredentialByID(context.Background(), c.ID)
			if stored.BackupState != tc.login.bs || stored.BackupEligible != tc.reg.be {
				t.Errorf("stored BE=%v BS=%v; want BE=%v BS=%v", stored.BackupEligible, stored.BackupState, tc.reg.be, tc.login.bs)
			}
		})
	}
}

// TestSignCounter: SECURITY rule 8.
func TestSignCounter(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	key := testauthn.New(origin)
	key.Options.CountSignatures = true
	f.register(t, f.user(t, "a@example.com"), key, "")
	for want := uint32(1); want <= 3; want++ {
		_, c, _, err := f.login(t, key, "")
		if err != nil || c.SignCount != want {
			t.Fatalf("login %d: count %d, %v", want, c.SignCount, err)
		}
	}
	cred := key.Credentials[0]
	for _, presented := range []uint32{3, 1, 0} { // the equal, a lower and a zero count
		cred.Counter = presented - 1 // Get adds one
		if presented == 0 {
			key.Options.CountSignatures = false
			cred.Counter = 0
		}
		_, _, _, err := f.login(t, key, "")
		wantCode(t, err, sesame.ECeremonyFailed)
		if !strings.Contains(f.logs.String(), "possible cloned authenticator") {
			t.Fatalf("no clone warning logged for count %d:\n%s", presented, f.logs.String())
		}
	}
	if stored, _ := f.db.CredentialByID(ctx, cred.ID); stored.SignCount != 3 {
		t.Errorf("stored count %d after refused sign-ins; want 3", stored.SignCount)
	}
	// Counters that stay 0 (synced passkeys) are fine.
	synced := testauthn.New(origin)
	f.register(t, f.user(t, "b@example.com"), synced, "")
	for range 3 {
		if _, _, _, err := f.login(t, synced, ""); err != nil {
			t.Fatalf("zero-counter login: %v", err)
		}
	}
}

func TestRSA(t *testing.T) {
	f := newFixture(t, nil)
	a := testauthn.New(origin)
	a.Options.RSA = true
	f.register(t, f.user(t, "a@example.com"), a, "")
	if _, _, _, err := f.login(t, a, ""); err != nil {
		t.Fatal(err)
	}
}

// TestCeremonyBinding: a ceremony finishes only as the type, and for the
// user, it was begun for, and is spent by the first attempt either way
// (SECURITY rule 1).
func TestCeremonyBinding(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	alice, bob := f.user(t, "alice@example.com"), f.user(t, "bob@example.com")
	a := testauthn.New(origin)
	f.register(t, alice, a, "")

	regID, regOpts, _ := f.svc.BeginRegistration(ctx, alice, "")
	regResp, err := testauthn.New(origin).Create(regOpts)
	if err != nil {
		t.Fatal(err)
	}
	loginID, loginOpts, _ := f.svc.BeginLogin(ctx, "")
	loginResp, _ := a.Get(loginOpts)
	mfaID, mfaOpts, err := f.svc.BeginMFA(ctx, alice)
	if err != nil {
		t.Fatal(err)
	}
	mfaResp, _ := a.Get(mfaOpts)

	for _, tc := range []struct {
		name   string
		finish func() error
		id     string
	}{
		{"registration finished by another user", func() error {
			_, err := f.svc.FinishRegistration(ctx, bob, regID, regResp, "")
			return err
		}, regID},
		{"login ceremony finished as registration", func() error {
			_, err := f.svc.FinishRegistration(ctx, alice, loginID, regResp, "")
			return err
		}, loginID},
		{"mfa ceremony finished as login", func() error {
			_, _, _, err := f.finishLogin(ctx, mfaID, mfaResp)
			return err
		}, mfaID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantCode(t, tc.finish(), sesame.ECeremonyFailed)
			// Spent: even the right finish now answers used. A sign-in's
			// ticket is spent as the hash of its challenge.
			if tc.id == loginID {
				if n, err := f.db.TableRows(ctx, "spent_challenges"); err != nil || n != 1 {
					t.Fatalf("spent challenges after a failed finish: %d, %v; want 1", n, err)
				}
				return
			}
			c, err := f.db.Ceremony(ctx, tc.id)
			if err != nil || c.ConsumedAt == nil {
				t.Fatalf("ceremony after a failed finish: %+v, %v; want consumed", c, err)
			}
		})
	}
	_, _, _, err = f.finishLogin(ctx, loginID, loginResp)
	wantCode(t, err, sesame.EUsed)
	_, _, _, err = f.finishLogin(ctx, "no-such-ceremony", loginResp)
	wantCode(t, err, sesame.EExpired)
	_, _, _, err = f.finishLogin(ctx, "", loginResp)
	wantCode(t, err, sesame.EExpired)
}

func TestExpiry(t *testing.T) {
	for _, tc := range []struct {
		after time.Duration
		code  string
	}{
		{299 * time.Second, ""},
		{300 * time.Second, sesame.EExpired},
		{301 * time.Second, sesame.EExpired},
	} {
		f := newFixture(t, nil)
		a := testauthn.New(origin)
		f.register(t, f.user(t, "a@example.com"), a, "")
		id, opts, _ := f.svc.BeginLogin(context.Background(), "")
		resp, _ := a.Get(opts)
		f.clock.Advance(tc.after)
		_, _, _, err := f.finishLogin(context.Background(), id, resp)
		if got := sesame.ErrorCode(err); got != tc.code {
			t.Errorf("finish after %v: %v; want code %q", tc.after, err, tc.code)
		}
	}
}

func TestMFA(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	alice, bob := f.user(t, "alice@example.com"), f.user(t, "bob@example.com")
	_, _, err := f.svc.BeginMFA(ctx, alice)
	wantCode(t, err, sesame.EBadRequest)

	a, b := testauthn.New(origin), testauthn.New(origin)
	a.Options.BackupEligible = true
	rec := f.register(t, alice, a, "")
	f.register(t, bob, b, "")

	id, opts, err := f.svc.BeginMFA(ctx, alice)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(opts), webauthn.CredentialID(rec.ID)) {
		t.Errorf("MFA options %s do not list alice's credential", opts)
	}
	resp, _ := a.Get(opts)
	c, amr, err := f.finishMFA(ctx, alice, id, resp)
	if err != nil || !bytes.Equal(c.ID, rec.ID) || !slices.Equal(amr, []string{"swk", "user"}) {
		t.Fatalf("FinishMFA = %x, %v, %v", c.ID, amr, err)
	}
	// Bob's credential, or alice's ceremony claimed for bob, fail.
	id, opts, _ = f.svc.BeginMFA(ctx, alice)
	resp, _ = b.GetWith(opts, b.Credentials[0])
	_, _, err = f.finishMFA(ctx, alice, id, resp)
	wantCode(t, err, sesame.ECeremonyFailed)
	id, opts, _ = f.svc.BeginMFA(ctx, alice)
	resp, _ = a.Get(opts)
	_, _, err = f.finishMFA(ctx, bob, id, resp)
	wantCode(t, err, sesame.ECeremonyFailed)
}

// TestFakeCredentials: SECURITY rule 10.
func TestFakeCredentials(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	alice := f.user(t, "alice@example.com")
	a := testauthn.New(origin)
	real := f.register(t, alice, a, "")
	f.user(t, "nopasskey@example.com")

	allow := func(email string) []map[string]any {
		t.Helper()
		_, raw, err := f.svc.BeginLogin(ctx, email)
		if err != nil {
			t.Fatal(err)
		}
		var o struct {
			AllowCredentials []map[string]any
		}
		if err := json.Unmarshal(raw, &o); err != nil {
			t.Fatal(err)
		}
		return o.AllowCredentials
	}
	for _, email := range []string{"nobody@example.com", "nopasskey@example.com", "other@example.org"} {
		first, again := allow(email), allow(email)
		if len(first) == 0 || len(first) > 3 {
			t.Fatalf("%s: %d fake credentials; want 1 to 3", email, len(first))
		}
		for i, c := range first {
			id, _ := c["id"].(string)
			raw, err := base64.RawURLEncoding.DecodeString(id)
			// Lengths and transports as real records have them (rule 55);
			// records made by clients that report none have no transports.
			if err != nil || !slices.Contains([]int{16, 20, 32, 48, 64}, len(raw)) || c["type"] != "public-key" {
				t.Errorf("%s: fake credential %v is not shaped like a real one", email, c)
			}
			if again[i]["id"] != id {
				t.Errorf("%s: fake ids change between calls: %v then %v", email, first, again)
			}
		}
	}
	if n, o := allow("nobody@example.com"), allow("other@example.org"); n[0]["id"] == o[0]["id"] {
		t.Error("two addresses got the same fake id")
	}
	got := allow("alice@example.com")
	if len(got) != 1 || got[0]["id"] != webauthn.CredentialID(real.ID) {
		t.Errorf("alice's allowCredentials = %v; want her credential", got)
	}
	// A fake ceremony cannot be finished, not even with a real credential.
	id, opts, _ := f.svc.BeginLogin(ctx, "nobody@example.com")
	resp, _ := a.GetWith(opts, a.Credentials[0])
	_, _, _, err := f.finishLogin(ctx, id, resp)
	wantCode(t, err, sesame.ECeremonyFailed)
	// Nor may an email-first ceremony for alice be finished by bob.
	bob := f.user(t, "bob@example.com")
	b := testauthn.New(origin)
	f.register(t, bob, b, "")
	id, opts, _ = f.svc.BeginLogin(ctx, "alice@example.com")
	resp, _ = b.GetWith(opts, b.Credentials[0])
	_, _, _, err = f.finishLogin(ctx, id, resp)
	wantCode(t, err, sesame.ECeremonyFailed)

	_, _, err = f.svc.BeginLogin(ctx, "not an address")
	wantCode(t, err, sesame.EBadRequest)
}

// TestConcurrentFinish: of 10 concurrent finishes of one ceremony with the
// same valid assertion, exactly one signs in.
// TestConcurrentFinish: ten finishes of one sign-in at once, on both
// engines: exactly one succeeds, the others answer used.
func TestConcurrentFinish(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		f := &fixture{db: d, clock: testserver.NewClock(time.Now()), mail: &mailbox{}, logs: &logBuffer{}}
		svc, err := webauthn.New(config(f.db, f.clock, f.mail, f.logs))
		if err != nil {
			t.Fatal(err)
		}
		f.svc = svc
		a := testauthn.New(origin)
		f.register(t, f.user(t, "a@example.com"), a, "")
		id, opts, _ := f.svc.BeginLogin(context.Background(), "")
		resp, _ := a.Get(opts)
		var ok atomic.Int32
		var wg sync.WaitGroup
		for range 10 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				switch _, _, _, err := f.finishLogin(context.Background(), id, resp); sesame.ErrorCode(err) {
				case "":
					ok.Add(1)
				case sesame.EUsed:
				default:
					t.Errorf("concurrent finish: %v", err)
				}
			}()
		}
		wg.Wait()
		if ok.Load() != 1 {
			t.Fatalf("%d finishes succeeded; want 1", ok.Load())
		}
	})
}

// TestAnyInstanceFinishes: a ceremony begun by one instance is finished by
// another that shares only the database, on both engines.
func TestAnyInstanceFinishes(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		clock, mb, logs := testserver.NewClock(time.Now()), &mailbox{}, &logBuffer{}
		one, err := webauthn.New(config(d, clock, mb, logs))
		if err != nil {
			t.Fatal(err)
		}
		two, err := webauthn.New(config(d, clock, mb, logs))
		if err != nil {
			t.Fatal(err)
		}
		u, _, err := d.EnsureUser(ctx, sesame.User{ID: sesame.NewID(), Email: "a@example.com", WebAuthnHandle: sesame.RandomBytes(32), CreatedAt: clock.Now()})
		if err != nil {
			t.Fatal(err)
		}
		a := testauthn.New(origin)
		id, opts, _ := one.BeginRegistration(ctx, u, "")
		resp, _ := a.Create(opts)
		if _, err := two.FinishRegistration(ctx, u, id, resp, ""); err != nil {
			t.Fatal(err)
		}
		id, opts, _ = two.BeginLogin(ctx, "a@example.com")
		resp, _ = a.Get(opts)
		if got, _, _, err := finishLogin(ctx, d, one, clock.Now(), id, resp); err != nil || got.ID != u.ID {
			t.Fatalf("FinishLogin on the other instance = %v, %v", got.ID, err)
		}
		_, _, _, err = finishLogin(ctx, d, two, clock.Now(), id, resp)
		wantCode(t, err, sesame.EUsed)
		// A sign-in that failed on one instance is spent for the other.
		id, opts, _ = one.BeginLogin(ctx, "")
		resp, _ = a.Get(opts)
		bad := bytes.Replace(resp, []byte(`"signature":"`), []byte(`"signature":"AAAA`), 1)
		_, _, _, err = finishLogin(ctx, d, two, clock.Now(), id, bad)
		wantCode(t, err, sesame.ECeremonyFailed)
		_, _, _, err = finishLogin(ctx, d, one, clock.Now(), id, resp)
		wantCode(t, err, sesame.EUsed)
	})
}

func TestRenameRemove(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	alice, bob := f.user(t, "alice@example.com"), f.user(t, "bob@example.com")
	a := testauthn.New(origin)
	rec := f.register(t, alice, a, "")

	for _, tc := range []struct {
		user, name, want, code string
		id                     []byte
	}{
		{alice.ID, "  YubiKey\tblue ", "YubiKey blue", "", rec.ID},
		{alice.ID, strings.Repeat("é", 64), strings.Repeat("é", 64), "", rec.ID},
		{alice.ID, strings.Repeat("é", 65), "", sesame.EBadRequest, rec.ID},
		{alice.ID, "   ", "", sesame.EBadRequest, rec.ID},
		{alice.ID, "bad \xff utf-8", "", sesame.EBadRequest, rec.ID},
		{bob.ID, "mine now", "", sesame.ENotFound, rec.ID},
		{alice.ID, "x", "", sesame.ENotFound, []byte("unknown")},
	} {
		c, err := f.svc.Rename(ctx, tc.user, tc.id, tc.name)
		if sesame.ErrorCode(err) != tc.code || (tc.code == "" && c.Name != tc.want) {
			t.Errorf("Rename(%q) = %q, %v; want %q, code %q", tc.name, c.Name, err, tc.want, tc.code)
		}
	}
	wantCode(t, f.svc.Remove(ctx, bob.ID, rec.ID), sesame.ENotFound)
	if err := f.svc.Remove(ctx, alice.ID, rec.ID); err != nil {
		t.Fatal(err)
	}
	wantCode(t, f.svc.Remove(ctx, alice.ID, rec.ID), sesame.ENotFound)
	_, _, _, err := f.login(t, a, "")
	wantCode(t, err, sesame.ECeremonyFailed)
}

func TestDuplicateCredential(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	alice, bob := f.user(t, "alice@example.com"), f.user(t, "bob@example.com")
	a := testauthn.New(origin)
	f.register(t, alice, a, "")
	for _, u := range []sesame.User{bob, alice} {
		id, opts, _ := f.svc.BeginRegistration(ctx, u, "")
		resp, err := a.CreateWith(opts, a.Credentials[0])
		if err != nil {
			t.Fatal(err)
		}
		_, err = f.svc.FinishRegistration(ctx, u, id, resp, "")
		wantCode(t, err, sesame.EConflict)
	}
	if list, _ := f.svc.List(ctx, bob.ID); len(list) != 0 {
		t.Errorf("bob has %d credentials; want 0", len(list))
	}
}

func TestCredentialIDs(t *testing.T) {
	id := []byte{0xfb, 0xff, 0x00, 0x01}
	if s := webauthn.CredentialID(id); s != "-_8AAQ" {
		t.Errorf("CredentialID = %q; want -_8AAQ", s)
	}
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"-_8AAQ", true}, {"", false}, {"+/8AAQ==", false}, {strings.Repeat("A", 1366), false},
	} {
		if _, err := webauthn.ParseCredentialID(tc.in); (err == nil) != tc.ok {
			t.Errorf("ParseCredentialID(%.10q) = %v; want ok %v", tc.in, err, tc.ok)
		}
	}
	if got := webauthn.AAGUIDString(make([]byte, 3)); got != "" {
		t.Errorf("AAGUIDString(3 bytes) = %q", got)
	}
}
