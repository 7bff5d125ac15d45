package token

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sesame-auth/sesame/internal/testkit"

	"github.com/sesame-auth/sesame"
)

// memStore is an in-memory KeyStore, standing in for the db package. It
// hands out copies, as a database would.
type memStore struct {
	mu    sync.Mutex
	keys  []sesame.SigningKey
	reads int
	// failReads, when set, is returned by SigningKeys.
	failReads error
	// block, when set, makes SigningKeys wait until it is closed.
	block chan struct{}
}

func (s *memStore) SigningKeys(ctx context.Context) ([]sesame.SigningKey, error) {
	s.mu.Lock()
	block := s.block
	s.mu.Unlock()
	if block != nil {
		select {
		case <-block:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reads++
	if s.failReads != nil {
		return nil, s.failReads
	}
	out := make([]sesame.SigningKey, len(s.keys))
	for i, k := range s.keys {
		out[i] = copyKey(k)
	}
	return out, nil
}

func (s *memStore) InsertSigningKey(_ context.Context, k sesame.SigningKey) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, o := range s.keys {
		if o.KID == k.KID {
			return errors.New("duplicate kid")
		}
	}
	s.keys = append(s.keys, copyKey(k))
	return nil
}

func (s *memStore) RetireSigningKeys(_ context.Context, exceptKID string, at time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	alg := ""
	for _, k := range s.keys {
		if k.KID == exceptKID {
			alg = k.Algorithm
		}
	}
	for i := range s.keys {
		if s.keys[i].KID != exceptKID && s.keys[i].RetiredAt == nil && (exceptKID == "" || s.keys[i].Algorithm == alg) {
			t := at
			s.keys[i].RetiredAt = &t
		}
	}
	return nil
}

// edit changes the stored rows under the lock.
func (s *memStore) edit(f func(keys []sesame.SigningKey)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(s.keys)
}

func (s *memStore) set(f func(s *memStore)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(s)
}

func (s *memStore) readCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reads
}

func copyKey(k sesame.SigningKey) sesame.SigningKey {
	k.PrivateKey = bytes.Clone(k.PrivateKey)
	if k.RetiredAt != nil {
		t := *k.RetiredAt
		k.RetiredAt = &t
	}
	return k
}

// fakeClock is an injected clock that moves only when told to.
type fakeClock = testkit.Clock

func newClock() *fakeClock {
	// Half a second past the minute, to see that NumericDates truncate.
	return testkit.NewClock(time.Date(2030, 1, 2, 3, 4, 5, 5e8, time.UTC))
}

var testEncKey = bytes.Repeat([]byte{7}, 32)

// newTestKeys returns Keys on store with the clock c and a first key.
func newTestKeys(t testing.TB, store KeyStore, c *fakeClock, opts KeysOptions) *Keys {
	t.Helper()
	opts.Now = c.Now
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	k, err := NewKeys(store, testEncKey, opts)
	if err != nil {
		t.Fatalf("NewKeys: %v", err)
	}
	if err := k.Ensure(context.Background()); err != nil {
		t.Fatalf("Ensure: %v", err)
	}
	return k
}

// jwksKIDs returns the kids that k publishes, in order.
func jwksKIDs(t testing.TB, k *Keys) []string {
	t.Helper()
	set := parseJWKS(t, k)
	kids := make([]string, len(set))
	for i, m := range set {
		kids[i] = m["kid"]
	}
	return kids
}

func signerKID(t testing.TB, k *Keys) string {
	t.Helper()
	s, err := k.signer(context.Background())
	if err != nil {
		t.Fatalf("signer: %v", err)
	}
	return s.kid
}

func TestGenerateSigningKey(t *testing.T) {
	now := newClock().Now()
	sk, err := GenerateSigningKey(testEncKey, now)
	if err != nil {
		t.Fatal(err)
	}
	if sk.Algorithm != "ES256" || !sk.CreatedAt.Equal(now) || sk.RetiredAt != nil {
		t.Errorf("GenerateSigningKey = %+v; want ES256 created now, not retired", sk)
	}
	if len(sk.KID) != 43 { // base64url of 32 bytes
		t.Errorf("KID %q: got %d chars; want 43", sk.KID, len(sk.KID))
	}
	aead, _ := newAEAD(testEncKey)
	priv, jwk, err := openKey(aead, sk)
	if err != nil {
		t.Fatalf("openKey: %v", err)
	}
	if jwk.KID != sk.KID || priv == nil {
		t.Errorf("openKey kid = %q; want %q", jwk.KID, sk.KID)
	}
	other, _ := GenerateSigningKey(testEncKey, now)
	if other.KID == sk.KID || bytes.Equal(other.PrivateKey[:12], sk.PrivateKey[:12]) {
		t.Error("two keys share a KID or a nonce")
	}
	for _, n := range []int{0, 16, 31, 33} {
		if _, err := GenerateSigningKey(make([]byte, n), now); err == nil {
			t.Errorf("GenerateSigningKey with a %d-byte key: no error", n)
		}
	}
}

func TestNewKeysRejectsBadEncryptionKey(t *testing.T) {
	if _, err := NewKeys(&memStore{}, make([]byte, 16), KeysOptions{}); err == nil {
		t.Error("NewKeys with a 16-byte key: no error")
	}
}

func TestEnsure(t *testing.T) {
	ctx := context.Background()
	store, c := &memStore{}, newClock()
	k := newTestKeys(t, store, c, KeysOptions{})
	first := signerKID(t, k)
	if err := k.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(store.keys); n != 1 {
		t.Fatalf("after two Ensure: %d keys stored; want 1", n)
	}
	// With every key retired, Ensure makes a new one.
	if err := store.RetireSigningKeys(ctx, "", c.Now()); err != nil {
		t.Fatal(err)
	}
	if err := k.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	if got := signerKID(t, k); got == first {
		t.Errorf("after retiring every key, Ensure kept %q signing", got)
	}
}

func TestSignerIsNewestTiesByKID(t *testing.T) {
	store, c := &memStore{}, newClock()
	now := c.Now()
	var kids []string
	for range 3 { // the same CreatedAt: the greatest KID signs
		sk, err := GenerateSigningKey(testEncKey, now)
		if err != nil {
			t.Fatal(err)
		}
		store.keys = append(store.keys, sk)
		kids = append(kids, sk.KID)
	}
	old, _ := GenerateSigningKey(testEncKey, now.Add(-time.Hour))
	store.keys = append(store.keys, old)
	want := max(kids[0], kids[1], kids[2])
	for i := range 2 { // two instances agree
		k := newTestKeys(t, store, c, KeysOptions{})
		if got := signerKID(t, k); got != want {
			t.Errorf("instance %d signs with %q; want %q", i, got, want)
		}
	}
}

func TestRotation(t *testing.T) {
	ctx := context.Background()
	store, c := &memStore{}, newClock()
	const ttl, reload = 10 * time.Minute, 30 * time.Second
	k := newTestKeys(t, store, c, KeysOptions{AccessTTL: ttl, Reload: reload})
	is := newTestIssuer(t, k, c, IssuerOptions{})
	oldKID := signerKID(t, k)
	oldTok, _, err := is.Access(ctx, "u1", "s1", c.Now(), []string{"hwk"})
	if err != nil {
		t.Fatal(err)
	}

	c.Advance(time.Minute)
	newKID, err := k.Rotate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	retiredAt := c.Now()
	if newKID == oldKID || signerKID(t, k) != newKID {
		t.Fatalf("after Rotate: signer %q; want new kid %q (old %q)", signerKID(t, k), newKID, oldKID)
	}
	newTok, _, err := is.Access(ctx, "u1", "s1", c.Now(), []string{"hwk"})
	if err != nil {
		t.Fatal(err)
	}
	if got := headerKID(t, newTok); got != newKID {
		t.Errorf("token after Rotate has kid %q; want %q", got, newKID)
	}
	if _, err := is.VerifyAccess(ctx, oldTok); err != nil {
		t.Errorf("token from the old key after Rotate: %v", err)
	}
	if got := jwksKIDs(t, k); len(got) != 2 || got[0] != newKID || got[1] != oldKID {
		t.Errorf("JWKS after Rotate = %q; want [new old]", got)
	}

	// The old key stays published while a token it signed (even on a
	// not-yet-reloaded instance) can still be accepted, then leaves.
	window := ttl + reload + Leeway
	for _, tc := range []struct {
		since     time.Duration
		published bool
	}{
		{window - time.Second, true},
		{window, false},
		{window + time.Hour, false},
	} {
		t.Run("retired "+tc.since.String(), func(t *testing.T) {
			c.Advance(retiredAt.Add(tc.since).Sub(c.Now()))
			got := jwksKIDs(t, k)
			if in := strings.Contains(strings.Join(got, " "), oldKID); in != tc.published {
				t.Errorf("JWKS = %q; old key published = %v, want %v", got, in, tc.published)
			}
			_, err := k.verifier(ctx, oldKID)
			if ok := err == nil; ok != tc.published {
				t.Errorf("verifier(old kid) error = %v; want published = %v", err, tc.published)
			}
			if _, err := is.VerifyAccess(ctx, newTok); tc.since < ttl && err != nil {
				t.Errorf("new token: %v", err)
			}
		})
	}
}

func TestSecondInstanceFollowsRotation(t *testing.T) {
	ctx := context.Background()
	store, c := &memStore{}, newClock()
	const reload = 30 * time.Second
	a := newTestKeys(t, store, c, KeysOptions{Reload: reload})
	c.Advance(time.Minute) // so that the new key is newer than the first
	b := newTestKeys(t, store, c, KeysOptions{Reload: reload})
	isA := newTestIssuer(t, a, c, IssuerOptions{})
	isB := newTestIssuer(t, b, c, IssuerOptions{})
	oldKID := signerKID(t, b)

	newKID, err := a.Rotate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tokA, _, err := isA.Access(ctx, "u", "s", c.Now(), []string{"hwk"})
	if err != nil {
		t.Fatal(err)
	}

	c.Advance(reload - time.Second)
	if got := signerKID(t, b); got != oldKID {
		t.Errorf("before its reload, B signs with %q; want the old %q", got, oldKID)
	}
	if got := jwksKIDs(t, b); len(got) != 1 {
		t.Errorf("before its reload, B publishes %q; want only the old key", got)
	}
	// A token with a kid B does not know yet makes B read the store at once.
	if _, err := isB.VerifyAccess(ctx, tokA); err != nil {
		t.Errorf("B verifying A's token under the new kid: %v", err)
	}

	c.Advance(time.Second)
	if got := signerKID(t, b); got != newKID {
		t.Errorf("after its reload, B signs with %q; want %q", got, newKID)
	}
	tokB, _, err := isB.Access(ctx, "u", "s", c.Now(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := headerKID(t, tokB); got != newKID {
		t.Errorf("B's token has kid %q; want %q", got, newKID)
	}
	if got := jwksKIDs(t, b); len(got) != 2 || got[0] != newKID {
		t.Errorf("after its reload, B publishes %q; want [new old]", got)
	}
}

func TestUnknownKIDReloadsAtMostOncePerSecond(t *testing.T) {
	ctx := context.Background()
	store, c := &memStore{}, newClock()
	k := newTestKeys(t, store, c, KeysOptions{})
	c.Advance(2 * time.Second)
	before := store.readCount()
	for range 100 {
		if _, err := k.verifier(ctx, "made-up"); !errors.Is(err, errUnknownKID) {
			t.Fatalf("verifier(made-up) = %v; want errUnknownKID", err)
		}
	}
	if n := store.readCount() - before; n != 1 {
		t.Errorf("100 unknown kids read the store %d times; want 1", n)
	}
}

func TestReloadDoesNotMakeEveryoneWait(t *testing.T) {
	ctx := context.Background()
	store, c := &memStore{}, newClock()
	k := newTestKeys(t, store, c, KeysOptions{Reload: 30 * time.Second})
	is := newTestIssuer(t, k, c, IssuerOptions{})
	tok, _, err := is.Access(ctx, "u", "s", c.Now(), nil)
	if err != nil {
		t.Fatal(err)
	}

	block := make(chan struct{})
	store.set(func(s *memStore) { s.block = block })
	c.Advance(31 * time.Second)
	reloading := make(chan error)
	go func() { _, err := k.JWKS(ctx); reloading <- err }()
	// Wait until the reload holds the lock.
	for deadline := time.Now().Add(5 * time.Second); k.mu.TryLock(); {
		k.mu.Unlock()
		if time.Now().After(deadline) {
			t.Fatal("the reload never started")
		}
		time.Sleep(time.Millisecond)
	}

	done := make(chan error)
	go func() { _, err := is.VerifyAccess(ctx, tok); done <- err }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("VerifyAccess during a reload: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Error("VerifyAccess waited for the reload")
	}
	close(block)
	if err := <-reloading; err != nil {
		t.Errorf("JWKS that reloaded: %v", err)
	}
}

func TestReloadFailureKeepsOldKeys(t *testing.T) {
	ctx := context.Background()
	store, c := &memStore{}, newClock()
	var logs bytes.Buffer
	k := newTestKeys(t, store, c, KeysOptions{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	is := newTestIssuer(t, k, c, IssuerOptions{})
	tok, _, err := is.Access(ctx, "u", "s", c.Now(), nil)
	if err != nil {
		t.Fatal(err)
	}
	store.set(func(s *memStore) { s.failReads = errors.New("database is down") })
	c.Advance(time.Minute)
	if _, err := is.VerifyAccess(ctx, tok); err != nil {
		t.Errorf("VerifyAccess with the store down: %v", err)
	}
	if !strings.Contains(logs.String(), "database is down") {
		t.Errorf("log = %q; want the reload failure", logs.String())
	}
	reads := store.readCount()
	for range 10 {
		_, _ = is.VerifyAccess(ctx, tok)
	}
	if n := store.readCount() - reads; n != 0 {
		t.Errorf("the store was read %d more times within a second of a failure; want 0", n)
	}
	c.Advance(retryAfterFailure)
	_, _ = is.VerifyAccess(ctx, tok)
	if n := store.readCount() - reads; n != 1 {
		t.Errorf("the store was read %d times after the back-off; want 1", n)
	}
}

func TestNoKeysIsAnInternalError(t *testing.T) {
	ctx := context.Background()
	store, c := &memStore{}, newClock()
	k := newTestKeys(t, store, c, KeysOptions{})
	is := newTestIssuer(t, k, c, IssuerOptions{})
	tok, _, err := is.Access(ctx, "u", "s", c.Now(), nil)
	if err != nil {
		t.Fatal(err)
	}
	// A fresh instance that cannot read the store must not call valid
	// tokens invalid (that would sign users out): it fails as internal.
	k2, err := NewKeys(store, testEncKey, KeysOptions{Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	is2 := newTestIssuer(t, k2, c, IssuerOptions{})
	store.set(func(s *memStore) { s.failReads = errors.New("database is down") })
	if _, err := is2.VerifyAccess(ctx, tok); sesame.ErrorCode(err) != sesame.EInternal {
		t.Errorf("VerifyAccess without keys: code %q (%v); want %q", sesame.ErrorCode(err), err, sesame.EInternal)
	}
	if _, _, err := is2.Access(ctx, "u", "s", c.Now(), nil); err == nil {
		t.Error("Access without keys: no error")
	}
	if _, err := k2.JWKS(ctx); err == nil {
		t.Error("JWKS without keys: no error")
	}
}

func TestTamperedKeysFailToLoad(t *testing.T) {
	ctx := context.Background()
	now := newClock().Now()
	for _, tc := range []struct {
		name   string
		tamper func(keys []sesame.SigningKey)
		encKey []byte
	}{
		{name: "flipped ciphertext bit", tamper: func(keys []sesame.SigningKey) { keys[0].PrivateKey[20] ^= 1 }},
		{name: "flipped nonce bit", tamper: func(keys []sesame.SigningKey) { keys[0].PrivateKey[0] ^= 1 }},
		{name: "truncated", tamper: func(keys []sesame.SigningKey) { keys[0].PrivateKey = keys[0].PrivateKey[:20] }},
		{name: "empty", tamper: func(keys []sesame.SigningKey) { keys[0].PrivateKey = nil }},
		{name: "ciphertexts swapped between rows", tamper: func(keys []sesame.SigningKey) {
			keys[0].PrivateKey, keys[1].PrivateKey = keys[1].PrivateKey, keys[0].PrivateKey
		}},
		{name: "ciphertext copied to another row", tamper: func(keys []sesame.SigningKey) {
			keys[1].PrivateKey = bytes.Clone(keys[0].PrivateKey)
		}},
		{name: "kid renamed", tamper: func(keys []sesame.SigningKey) { keys[0].KID = keys[0].KID[1:] + "A" }},
		{name: "other algorithm", tamper: func(keys []sesame.SigningKey) { keys[0].Algorithm = "RS256" }},
		{name: "wrong root secret", encKey: bytes.Repeat([]byte{8}, 32)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			store := &memStore{}
			for i := range 2 {
				sk, err := GenerateSigningKey(testEncKey, now.Add(time.Duration(i)*time.Second))
				if err != nil {
					t.Fatal(err)
				}
				store.keys = append(store.keys, sk)
			}
			if tc.tamper != nil {
				store.edit(tc.tamper)
			}
			encKey := testEncKey
			if tc.encKey != nil {
				encKey = tc.encKey
			}
			k, err := NewKeys(store, encKey, KeysOptions{Now: func() time.Time { return now }})
			if err != nil {
				t.Fatal(err)
			}
			if err := k.Ensure(ctx); err == nil {
				t.Error("Ensure: no error")
			}
			if _, err := k.JWKS(ctx); err == nil {
				t.Error("JWKS: no error")
			}
			if _, err := k.signer(ctx); err == nil {
				t.Error("signer: no error")
			}
		})
	}
}

func TestLongRetiredKeysAreNotEvenDecrypted(t *testing.T) {
	// A key retired long ago is never used again: a bad ciphertext there
	// must not stop the installation.
	store, c := &memStore{}, newClock()
	old, _ := GenerateSigningKey(testEncKey, c.Now().Add(-48*time.Hour))
	retired := c.Now().Add(-24 * time.Hour)
	old.RetiredAt = &retired
	old.PrivateKey[20] ^= 1
	store.keys = append(store.keys, old)
	k := newTestKeys(t, store, c, KeysOptions{})
	if got := jwksKIDs(t, k); len(got) != 1 || got[0] == old.KID {
		t.Errorf("JWKS = %q; want only the new key", got)
	}
}
