// Package token issues and verifies Sesame's JWTs (access tokens and
// MFA-pending tokens) and manages the signing keys behind them: their
// generation, encryption at rest, rotation and publication as a JWKS.
package token

import (
	"cmp"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sesame-auth/sesame"
)

// AlgES256 is the JWS algorithm of every key Sesame generates (RFC 7518
// §3.4: ECDSA with P-256 and SHA-256).
const AlgES256 = "ES256"

// Leeway is the clock skew tolerated when checking exp and iat (SECURITY
// rule 30: at most 30 s).
const Leeway = 30 * time.Second

const (
	defaultReload    = 30 * time.Second
	defaultAccessTTL = 10 * time.Minute
	// MaxAccessTTL is the longest access-token lifetime allowed (API.md:
	// exp at most 15 minutes after iat).
	MaxAccessTTL = 15 * time.Minute
	// minRefresh is the shortest time between two loads of the keyring
	// forced by a token whose kid is unknown, so that a stream of tokens
	// with made-up kids costs at most one store read a second.
	minRefresh = time.Second
	// retryAfterFailure is how soon a failed reload is tried again while
	// the keys loaded earlier go on being used.
	retryAfterFailure = time.Second
	encKeyLen         = 32 // AES-256
)

// KeyStore keeps the signing keys. It is declared here and implemented by
// the db package; several instances of Sesame may share one store.
type KeyStore interface {
	// SigningKeys returns every stored key, retired or not.
	SigningKeys(ctx context.Context) ([]sesame.SigningKey, error)
	// InsertSigningKey stores a new key.
	InsertSigningKey(ctx context.Context, k sesame.SigningKey) error
	// RetireSigningKeys sets RetiredAt to at on every key not yet retired
	// that has the algorithm of exceptKID, except exceptKID itself.
	RetireSigningKeys(ctx context.Context, exceptKID string, at time.Time) error
}

// GenerateSigningKey returns a new ES256 (P-256) key ready to be stored:
// its KID is the RFC 7638 JWK thumbprint of the public key, and its private
// half is the PKCS#8 DER sealed with AES-256-GCM under encKey, a random
// 12-byte nonce in front, with the KID as additional data so that a
// ciphertext cannot be moved to another row.
func GenerateSigningKey(encKey []byte, now time.Time) (sesame.SigningKey, error) {
	aead, err := newAEAD(encKey)
	if err != nil {
		return sesame.SigningKey{}, err
	}
	return generateSigningKey(aead, now)
}

func generateSigningKey(aead cipher.AEAD, now time.Time) (sesame.SigningKey, error) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return sesame.SigningKey{}, fmt.Errorf("generate signing key: %w", err)
	}
	jwk, err := publicJWK(&priv.PublicKey)
	if err != nil {
		return sesame.SigningKey{}, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return sesame.SigningKey{}, fmt.Errorf("marshal signing key: %w", err)
	}
	nonce := sesame.RandomBytes(aead.NonceSize())
	return sesame.SigningKey{
		KID:        jwk.KID,
		Algorithm:  AlgES256,
		PrivateKey: aead.Seal(nonce, nonce, der, []byte(jwk.KID)),
		CreatedAt:  now,
	}, nil
}

func newAEAD(encKey []byte) (cipher.AEAD, error) {
	if len(encKey) != encKeyLen {
		return nil, fmt.Errorf("signing-key encryption key: got %d bytes, want %d", len(encKey), encKeyLen)
	}
	block, err := aes.NewCipher(encKey)
	if err != nil {
		return nil, fmt.Errorf("signing-key encryption key: %w", err)
	}
	return cipher.NewGCM(block)
}

// openPKCS8 decrypts a stored private key under aead, with the row's KID
// as additional data, and parses it.
func openPKCS8(aead cipher.AEAD, sk sesame.SigningKey) (any, error) {
	n := aead.NonceSize()
	if len(sk.PrivateKey) < n+aead.Overhead() {
		return nil, errors.New("ciphertext too short")
	}
	der, err := aead.Open(nil, sk.PrivateKey[:n], sk.PrivateKey[n:], []byte(sk.KID))
	if err != nil {
		// Wrong root secret, an altered row, or a ciphertext moved from
		// another row: all look the same to AES-GCM.
		return nil, fmt.Errorf("decrypt: %w", err)
	}
	parsed, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("parse: %w", err)
	}
	return parsed, nil
}

// openKey decrypts and checks a stored key: the ciphertext must open under
// aead with the row's KID, hold a P-256 PKCS#8 key, and the KID must be the
// thumbprint of that key.
func openKey(aead cipher.AEAD, sk sesame.SigningKey) (*ecdsa.PrivateKey, jsonWebKey, error) {
	fail := func(format string, args ...any) (*ecdsa.PrivateKey, jsonWebKey, error) {
		return nil, jsonWebKey{}, fmt.Errorf("signing key %q: "+format, append([]any{sk.KID}, args...)...)
	}
	if sk.Algorithm != AlgES256 {
		return fail("unsupported algorithm %q", sk.Algorithm)
	}
	parsed, err := openPKCS8(aead, sk)
	if err != nil {
		return fail("%w", err)
	}
	priv, ok := parsed.(*ecdsa.PrivateKey)
	if !ok || priv.Curve != elliptic.P256() {
		return fail("not a P-256 key")
	}
	jwk, err := publicJWK(&priv.PublicKey)
	if err != nil {
		return fail("%w", err)
	}
	if jwk.KID != sk.KID {
		return fail("kid is not the key's thumbprint")
	}
	return priv, jwk, nil
}

// KeysOptions configures Keys. Zero values take the defaults.
type KeysOptions struct {
	// Now is the clock; time.Now by default.
	Now func() time.Time
	// Reload is how old the cached keyring may grow before it is read again
	// from the store (30 s by default), so that instances sharing a store
	// follow a rotation without restarting.
	Reload time.Duration
	// AccessTTL is the longest lifetime of a token signed by these keys (10
	// minutes by default); it sets how long a retired key stays published.
	AccessTTL time.Duration
	// Logger receives reload failures that no caller sees, because the keys
	// loaded before go on being used. slog.Default() by default.
	Logger *slog.Logger
	// RSA makes Ensure and Rotate keep one RS256 key beside the ES256 one,
	// for the ID tokens of OpenID Connect clients, most of which expect
	// RS256. Sesame's own tokens are always ES256.
	RSA bool
}

// Keys is the installation's keyring: it signs with the newest key and
// verifies with every key still published. It caches the decrypted keys and
// reads the store again when the cache is older than KeysOptions.Reload; a
// single caller does that read while the others go on with the cached keys.
// Keys is safe for concurrent use.
type Keys struct {
	store     KeyStore
	aead      cipher.AEAD
	now       func() time.Time
	reload    time.Duration
	accessTTL time.Duration
	log       *slog.Logger
	withRSA   bool

	mu  sync.Mutex // held while loading; guards nothing else
	cur atomic.Pointer[keyring]
}

// keyring is one immutable load of the store.
type keyring struct {
	loadedAt time.Time
	nextLoad time.Time
	signer   *key            // newest non-retired ES256 key; nil if none
	rsa      *key            // newest non-retired RS256 key; nil if none
	byKID    map[string]*key // every key still within its publication window
	ordered  []*key          // the same keys, newest first
}

type key struct {
	kid       string
	priv      *ecdsa.PrivateKey // nil for an RS256 key
	rsa       *rsa.PrivateKey   // nil for an ES256 key
	jwk       jsonWebKey
	createdAt time.Time
	retiredAt *time.Time
}

// NewKeys returns a keyring backed by store, whose private keys are
// encrypted under encKey (32 bytes: the root secret's
// sesame.PurposeKeyEncryption key). Nothing is read until first use; call
// Ensure at start-up to create the first key.
func NewKeys(store KeyStore, encKey []byte, opts KeysOptions) (*Keys, error) {
	aead, err := newAEAD(encKey)
	if err != nil {
		return nil, err
	}
	k := &Keys{
		store:     store,
		aead:      aead,
		now:       opts.Now,
		reload:    cmp.Or(opts.Reload, defaultReload),
		accessTTL: cmp.Or(opts.AccessTTL, defaultAccessTTL),
		log:       cmp.Or(opts.Logger, slog.Default()),
		withRSA:   opts.RSA,
	}
	if k.now == nil {
		k.now = time.Now
	}
	if k.reload < 0 || k.accessTTL < 0 {
		return nil, errors.New("keys: negative duration")
	}
	return k, nil
}

// publishFor is how long a retired key stays in the JWKS and keeps
// verifying. Another instance may go on signing with a key for up to Reload
// after it was retired (until it reads the store again); the token it signs
// then lives AccessTTL, and verifiers allow Leeway past its exp.
func (k *Keys) publishFor() time.Duration { return k.accessTTL + k.reload + Leeway }

// published reports whether a key retired at retiredAt is still published
// at now.
func (k *Keys) published(retiredAt *time.Time, now time.Time) bool {
	return retiredAt == nil || now.Sub(*retiredAt) < k.publishFor()
}

// Ensure creates the first signing key if the store holds no key that is
// not retired. Two instances starting together may both create one; the
// newest then signs on both, and the other is simply published.
func (k *Keys) Ensure(ctx context.Context) error {
	r, err := k.forceLoad(ctx)
	if err != nil {
		return err
	}
	if r.signer != nil && (r.rsa != nil || !k.withRSA) {
		return nil
	}
	if r.signer == nil {
		sk, err := generateSigningKey(k.aead, k.now())
		if err != nil {
			return err
		}
		if err := k.store.InsertSigningKey(ctx, sk); err != nil {
			return fmt.Errorf("insert signing key: %w", err)
		}
	}
	if r.rsa == nil && k.withRSA {
		sk, err := generateRSAKey(k.aead, k.now())
		if err != nil {
			return err
		}
		if err := k.store.InsertSigningKey(ctx, sk); err != nil {
			return fmt.Errorf("insert signing key: %w", err)
		}
	}
	_, err = k.forceLoad(ctx)
	return err
}

// Rotate creates a new signing key, which signs from now on, and retires
// every other key; retired keys stay published until the tokens they signed
// have expired. Other instances follow within KeysOptions.Reload.
func (k *Keys) Rotate(ctx context.Context) (newKID string, err error) {
	now := k.now()
	sk, err := generateSigningKey(k.aead, now)
	if err != nil {
		return "", err
	}
	if err := k.store.InsertSigningKey(ctx, sk); err != nil {
		return "", fmt.Errorf("insert signing key: %w", err)
	}
	// Once inserted, the new key is the newest and signs everywhere, so a
	// failure below leaves the old keys published a little longer, no worse.
	if err := k.store.RetireSigningKeys(ctx, sk.KID, now); err != nil {
		return "", fmt.Errorf("retire signing keys: %w", err)
	}
	if k.withRSA {
		rk, err := generateRSAKey(k.aead, now)
		if err != nil {
			return "", err
		}
		if err := k.store.InsertSigningKey(ctx, rk); err != nil {
			return "", fmt.Errorf("insert signing key: %w", err)
		}
		if err := k.store.RetireSigningKeys(ctx, rk.KID, now); err != nil {
			return "", fmt.Errorf("retire signing keys: %w", err)
		}
	}
	if _, err := k.forceLoad(ctx); err != nil {
		return "", err
	}
	return sk.KID, nil
}

// signer returns the key that signs now: the newest key not retired, ties
// broken by KID so that every instance picks the same one.
func (k *Keys) signer(ctx context.Context) (*key, error) {
	r, err := k.ring(ctx)
	if err != nil {
		return nil, err
	}
	if r.signer == nil {
		return nil, errors.New("no signing key: run Ensure first")
	}
	return r.signer, nil
}

// errUnknownKID is returned by verifier for a kid that is none of ours.
var errUnknownKID = errors.New("unknown kid")

// verifier returns the public key named kid among our own published keys.
// A kid we do not know may be a key another instance has just created: the
// store is read again at once, at most once every minRefresh.
func (k *Keys) verifier(ctx context.Context, kid string) (*ecdsa.PublicKey, error) {
	r, err := k.ring(ctx)
	if err != nil {
		return nil, err
	}
	kk := r.byKID[kid]
	if kk == nil && k.now().Sub(r.loadedAt) >= minRefresh {
		if r, err = k.refresh(ctx, r); err != nil {
			return nil, err
		}
		kk = r.byKID[kid]
	}
	if kk == nil || kk.priv == nil || !k.published(kk.retiredAt, k.now()) {
		return nil, errUnknownKID // Sesame's own tokens are ES256 only
	}
	return &kk.priv.PublicKey, nil
}

// ring returns the cached keyring, loading it first if there is none yet,
// or reloading it if it is stale and no other caller is already doing so.
func (k *Keys) ring(ctx context.Context) (*keyring, error) {
	r := k.cur.Load()
	if r != nil && k.now().Before(r.nextLoad) {
		return r, nil
	}
	if r == nil {
		k.mu.Lock()
	} else if !k.mu.TryLock() {
		return r, nil // another caller is reloading; the old keys will do
	}
	defer k.mu.Unlock()
	if nr := k.cur.Load(); nr != r {
		return nr, nil // loaded while we waited for the lock
	}
	return k.loadLocked(ctx, r)
}

// refresh loads the keyring again unless another caller did so after old
// was loaded; it waits for a load in progress.
func (k *Keys) refresh(ctx context.Context, old *keyring) (*keyring, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if nr := k.cur.Load(); nr != old {
		return nr, nil
	}
	return k.loadLocked(ctx, old)
}

// forceLoad reads the store now, for Ensure and Rotate, whose callers see
// any error.
func (k *Keys) forceLoad(ctx context.Context) (*keyring, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	r, err := k.load(ctx)
	if err != nil {
		return nil, err
	}
	k.cur.Store(r)
	return r, nil
}

// loadLocked reads the store and caches the result. If that fails while
// keys loaded earlier are at hand, they go on serving (tokens verify without
// the store, as the design wants), the failure is logged, and the read is
// tried again after retryAfterFailure.
func (k *Keys) loadLocked(ctx context.Context, old *keyring) (*keyring, error) {
	r, err := k.load(ctx)
	if err == nil {
		k.cur.Store(r)
		return r, nil
	}
	if old == nil {
		return nil, err
	}
	k.log.ErrorContext(ctx, "reload signing keys; keeping the keys loaded before", "err", err)
	stale := *old
	stale.nextLoad = k.now().Add(retryAfterFailure)
	k.cur.Store(&stale)
	return &stale, nil
}

// load reads and decrypts every published key. A key that fails to decrypt
// fails the whole load: it means a wrong root secret or a tampered row,
// which an operator must see rather than have a key silently disappear.
func (k *Keys) load(ctx context.Context) (*keyring, error) {
	rows, err := k.store.SigningKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("load signing keys: %w", err)
	}
	now := k.now()
	r := &keyring{loadedAt: now, nextLoad: now.Add(k.reload), byKID: make(map[string]*key, len(rows))}
	for _, sk := range rows {
		if !k.published(sk.RetiredAt, now) {
			continue // every token it signed has expired: not even decrypted
		}
		kk := &key{kid: sk.KID, createdAt: sk.CreatedAt}
		var err error
		if sk.Algorithm == AlgRS256 {
			kk.rsa, kk.jwk, err = openRSAKey(k.aead, sk)
		} else {
			kk.priv, kk.jwk, err = openKey(k.aead, sk)
		}
		if err != nil {
			return nil, fmt.Errorf("load signing keys: %w", err)
		}
		if sk.RetiredAt != nil {
			t := *sk.RetiredAt
			kk.retiredAt = &t
		}
		if _, dup := r.byKID[kk.kid]; dup {
			return nil, fmt.Errorf("load signing keys: kid %q stored twice", kk.kid)
		}
		r.byKID[kk.kid] = kk
		r.ordered = append(r.ordered, kk)
	}
	slices.SortFunc(r.ordered, func(a, b *key) int {
		// ES256 keys first, so the JWKS starts with the keys of Sesame's
		// own tokens, as it did before the RSA key.
		if (a.rsa == nil) != (b.rsa == nil) {
			if a.rsa == nil {
				return -1
			}
			return 1
		}
		if c := b.createdAt.Compare(a.createdAt); c != 0 {
			return c
		}
		return cmp.Compare(b.kid, a.kid)
	})
	for _, kk := range r.ordered {
		switch {
		case kk.retiredAt != nil:
		case kk.priv != nil && r.signer == nil:
			r.signer = kk
		case kk.rsa != nil && r.rsa == nil:
			r.rsa = kk
		}
	}
	return r, nil
}
