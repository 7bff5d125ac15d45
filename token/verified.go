package token

import (
	"crypto/sha256"
	"slices"
	"sync"
	"time"
)

// maxVerified bounds the access tokens an Issuer remembers as verified: a
// few MiB at most. When full, the expired go; if none has, all do.
const maxVerified = 16 << 10

// verifiedTokens remembers access tokens whose signature and claims
// verified, by SHA-256 of the whole token, so that a client presenting
// the same token again (every /api/me, every Bearer route for ten
// minutes) costs a hash and a lookup instead of an ES256 verification and
// a JSON parse. Only what cannot change is remembered: the bytes were
// signed by the key they name. What can change is checked on every use,
// as a full verification would: the token's times against the clock, and
// that its key is still one we verify with (a retired key stops its
// tokens, cached or not). Access tokens are stateless for reads (a
// revoked session's token reads until it expires, docs/security.md), and
// the routes that need a live session check it after this, so the cache
// changes no answer.
type verifiedTokens struct {
	mu sync.Mutex
	m  map[[sha256.Size]byte]verifiedToken
}

type verifiedToken struct {
	kid    string
	claims AccessClaims
}

func (v *verifiedTokens) get(key [sha256.Size]byte) (verifiedToken, bool) {
	v.mu.Lock()
	t, ok := v.m[key]
	v.mu.Unlock()
	if ok {
		t.claims.AMR = slices.Clone(t.claims.AMR)
	}
	return t, ok
}

func (v *verifiedTokens) put(key [sha256.Size]byte, t verifiedToken, now time.Time) {
	v.mu.Lock()
	defer v.mu.Unlock()
	t.claims.AMR = slices.Clone(t.claims.AMR)
	if v.m == nil {
		v.m = make(map[[sha256.Size]byte]verifiedToken)
	}
	if len(v.m) >= maxVerified {
		for k, old := range v.m {
			if !now.Before(old.claims.ExpiresAt.Add(Leeway)) {
				delete(v.m, k)
			}
		}
		if len(v.m) >= maxVerified {
			clear(v.m)
		}
	}
	v.m[key] = t
}

func (v *verifiedTokens) drop(key [sha256.Size]byte) {
	v.mu.Lock()
	delete(v.m, key)
	v.mu.Unlock()
}
