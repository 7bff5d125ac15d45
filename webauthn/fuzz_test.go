package webauthn_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	gowebauthn "github.com/go-webauthn/webauthn/webauthn"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/internal/testauthn"
	"github.com/sesame-auth/sesame/internal/testserver"
	"github.com/sesame-auth/sesame/webauthn"
)

// The fuzz targets feed finish bodies (base64, CBOR, COSE and JSON inside
// JSON) to the service, seeded with real payloads (SECURITY rule 11). Each
// input gets a fresh copy of one ceremony (or the same sign-in ticket), so inputs that keep the seed's
// clientDataJSON pass the challenge check and reach the attestation,
// COSE-key and signature code. An input must never panic nor make an
// internal error (a 5xx).
//
// They run on memStore, not SQLite: the fuzzer minimizes every new
// interesting input for up to a minute, and two database writes per
// execution made that minute pass with next to nothing done.

// memStore is a Store in memory, with the database's single-use and
// uniqueness rules.
type memStore struct {
	mu         sync.Mutex
	users      []sesame.User
	creds      []sesame.Credential
	ceremonies map[string]sesame.Ceremony
	spent      map[string]bool
}

func newMemStore() *memStore {
	return &memStore{ceremonies: map[string]sesame.Ceremony{}, spent: map[string]bool{}}
}

func (m *memStore) SpendChallenge(_ context.Context, hash []byte, _ time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.spent[string(hash)] {
		return sesame.Errorf(sesame.EConflict, "Already used.")
	}
	m.spent[string(hash)] = true
	return nil
}

func (m *memStore) CreateCeremony(_ context.Context, c sesame.Ceremony) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.ceremonies[c.ID] = c
	return nil
}

func (m *memStore) ConsumeCeremony(_ context.Context, id string, now time.Time) (sesame.Ceremony, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.ceremonies[id]
	if !ok || c.ConsumedAt != nil || !now.Before(c.ExpiresAt) {
		return sesame.Ceremony{}, sesame.ErrNotFound
	}
	delete(m.ceremonies, id) // nothing asks about it again in a fuzz run
	c.ConsumedAt = &now
	return c, nil
}

func (m *memStore) Ceremony(_ context.Context, id string) (sesame.Ceremony, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if c, ok := m.ceremonies[id]; ok {
		return c, nil
	}
	return sesame.Ceremony{}, sesame.ErrNotFound
}

func (m *memStore) CreateCredential(_ context.Context, c sesame.Credential) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, have := range m.creds {
		if bytes.Equal(have.ID, c.ID) {
			return sesame.Errorf(sesame.EConflict, "Already exists.")
		}
	}
	m.creds = append(m.creds, c)
	return nil
}

func (m *memStore) CredentialByID(_ context.Context, id []byte) (sesame.Credential, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, c := range m.creds {
		if bytes.Equal(c.ID, id) {
			return c, nil
		}
	}
	return sesame.Credential{}, sesame.ErrNotFound
}

func (m *memStore) CredentialsByUser(_ context.Context, userID string) ([]sesame.Credential, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []sesame.Credential
	for _, c := range m.creds {
		if c.UserID == userID {
			out = append(out, c)
		}
	}
	return out, nil
}

func (m *memStore) UseCredential(_ context.Context, c sesame.Credential, old uint32, _ time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i, have := range m.creds {
		if bytes.Equal(have.ID, c.ID) && have.SignCount == old {
			m.creds[i] = c
			return nil
		}
	}
	return sesame.ErrNotFound
}

func (m *memStore) RenameCredential(context.Context, string, []byte, string) (sesame.Credential, error) {
	return sesame.Credential{}, sesame.ErrNotFound
}

func (m *memStore) DeleteCredential(context.Context, string, []byte) error { return sesame.ErrNotFound }

func (m *memStore) UserByID(_ context.Context, id string) (sesame.User, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if i := slices.IndexFunc(m.users, func(u sesame.User) bool { return u.ID == id }); i >= 0 {
		return m.users[i], nil
	}
	return sesame.User{}, sesame.ErrNotFound
}

func (m *memStore) UserByEmail(_ context.Context, email string) (sesame.User, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if i := slices.IndexFunc(m.users, func(u sesame.User) bool { return u.Email == email }); i >= 0 {
		return m.users[i], nil
	}
	return sesame.User{}, sesame.ErrNotFound
}

// fuzzFixture is a quiet Service on a memStore with one user.
func fuzzFixture(t testing.TB) (*webauthn.Service, *memStore, *testserver.Clock, sesame.User) {
	t.Helper()
	store, clock := newMemStore(), testserver.NewClock(time.Now())
	u := sesame.User{ID: sesame.NewID(), Email: "fuzz@example.com", WebAuthnHandle: sesame.RandomBytes(32), CreatedAt: clock.Now()}
	store.users = append(store.users, u)
	svc, err := webauthn.New(webauthn.Config{
		Store: store, Mail: &mailbox{}, PublicURL: origin, FakeCredentialKey: key, ChallengeKey: challengeKey,
		Logger: slog.New(slog.DiscardHandler), Now: clock.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	return svc, store, clock, u
}

// cloner copies ceremony id into a fresh live one per call.
func cloner(t testing.TB, store *memStore, clock *testserver.Clock, id string) func() string {
	t.Helper()
	ctx := context.Background()
	c, err := store.Ceremony(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	// go-webauthn's own expiry runs on the wall clock; keep it out of the
	// way of a long fuzzing run.
	var session gowebauthn.SessionData
	if err := json.Unmarshal(c.Session, &session); err != nil {
		t.Fatal(err)
	}
	session.Expires = time.Now().Add(24 * time.Hour)
	if c.Session, err = json.Marshal(session); err != nil {
		t.Fatal(err)
	}
	return func() string {
		c.ID, c.CreatedAt, c.ExpiresAt = sesame.NewID(), clock.Now(), clock.Now().Add(webauthn.CeremonyTTL)
		if err := store.CreateCeremony(ctx, c); err != nil {
			t.Fatal(err)
		}
		return c.ID
	}
}

func checkFuzzError(t *testing.T, err error) {
	if code := sesame.ErrorCode(err); code == sesame.EInternal || code == sesame.EUnavailable {
		t.Fatalf("finish answered %s: %v", code, err)
	}
}

func FuzzRegisterFinish(f *testing.F) {
	ctx := context.Background()
	svc, store, clock, u := fuzzFixture(f)
	id, options, err := svc.BeginRegistration(ctx, u, "")
	if err != nil {
		f.Fatal(err)
	}
	for _, o := range []testauthn.Options{
		{},
		{RSA: true},
		{BackupEligible: true, BackupState: true},
		{BackupState: true},
		{UserNotPresent: true},
	} {
		a := testauthn.New(origin)
		a.Options = o
		resp, err := a.Create(options)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(resp)
	}
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"id":"","rawId":"","type":"public-key","response":{"clientDataJSON":"","attestationObject":"oA"}}`))
	next := cloner(f, store, clock, id)
	f.Fuzz(func(t *testing.T, body []byte) {
		_, err := svc.FinishRegistration(ctx, u, next(), body, "")
		checkFuzzError(t, err)
	})
}

func FuzzLoginFinish(f *testing.F) {
	ctx := context.Background()
	svc, _, _, u := fuzzFixture(f)
	var auths []*testauthn.Authenticator
	for _, o := range []testauthn.Options{
		{CountSignatures: true},
		{BackupEligible: true, BackupState: true},
		{RSA: true},
	} {
		a := testauthn.New(origin)
		a.Options = o
		id, options, err := svc.BeginRegistration(ctx, u, "")
		if err != nil {
			f.Fatal(err)
		}
		resp, err := a.Create(options)
		if err != nil {
			f.Fatal(err)
		}
		if _, err := svc.FinishRegistration(ctx, u, id, resp, ""); err != nil {
			f.Fatal(err)
		}
		auths = append(auths, a)
	}
	// Two templates: a discoverable ceremony and an email-first one.
	templates := map[bool]func() string{}
	for _, emailFirst := range []bool{false, true} {
		email := ""
		if emailFirst {
			email = u.Email
		}
		id, options, err := svc.BeginLogin(ctx, email)
		if err != nil {
			f.Fatal(err)
		}
		for _, a := range auths {
			resp, err := a.GetWith(options, a.Credentials[0])
			if err != nil {
				f.Fatal(err)
			}
			f.Add(resp, emailFirst)
		}
		// A sign-in's ticket is stateless, and the fuzz clock stands
		// still: every input finishes the same one. Once a failure has
		// spent it, the answer is used, after the same parsing and checks.
		templates[emailFirst] = func() string { return id }
	}
	f.Add([]byte(`{}`), false)
	f.Add([]byte(`{"id":"AA","rawId":"AA","type":"public-key","response":{"clientDataJSON":"e30","authenticatorData":"","signature":"","userHandle":""}}`), false)
	f.Fuzz(func(t *testing.T, body []byte, emailFirst bool) {
		_, err := svc.FinishLogin(ctx, templates[emailFirst](), body)
		checkFuzzError(t, err)
	})
}
