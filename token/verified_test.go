package token

import (
	"context"
	"testing"
	"time"
)

// TestVerifiedTokensChangeNoAnswer: an access token that verified is
// remembered (verified.go), and the answer for it is still the one a full
// verification would give: refused once past its expiry and leeway, refused
// once its key is gone from the store, and the claims it returns are the
// caller's own to change.
func TestVerifiedTokensChangeNoAnswer(t *testing.T) {
	ctx := context.Background()

	t.Run("expiry", func(t *testing.T) {
		is, _, c := setup(t)
		raw, _, err := is.Access(ctx, "u", "s", c.Now(), []string{"hwk"})
		if err != nil {
			t.Fatal(err)
		}
		first, err := is.VerifyAccess(ctx, raw)
		if err != nil {
			t.Fatal(err)
		}
		first.AMR[0] = "changed by the caller"
		c.Advance(10*time.Minute + 29*time.Second) // within the 30 s leeway
		again, err := is.VerifyAccess(ctx, raw)
		if err != nil || again.AMR[0] != "hwk" || again.Subject != "u" || again.SessionID != "s" {
			t.Fatalf("remembered token = %+v, %v; want its own claims", again, err)
		}
		c.Advance(2 * time.Second)
		_, err = is.VerifyAccess(ctx, raw)
		wantUnauthorized(t, err)
	})

	t.Run("key removed", func(t *testing.T) {
		store, c := &memStore{}, newClock()
		k := newTestKeys(t, store, c, KeysOptions{Reload: 30 * time.Second})
		is := newTestIssuer(t, k, c, IssuerOptions{})
		oldKID := signerKID(t, k)
		raw, _, err := is.Access(ctx, "u", "s", c.Now(), []string{"hwk"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := is.VerifyAccess(ctx, raw); err != nil {
			t.Fatal(err)
		}
		if _, err := k.Rotate(ctx); err != nil {
			t.Fatal(err)
		}
		store.mu.Lock()
		for i, key := range store.keys {
			if key.KID == oldKID {
				store.keys = append(store.keys[:i], store.keys[i+1:]...)
				break
			}
		}
		store.mu.Unlock()
		c.Advance(time.Minute) // past the reload interval
		_, err = is.VerifyAccess(ctx, raw)
		wantUnauthorized(t, err)
	})

	t.Run("bounded", func(t *testing.T) {
		var v verifiedTokens
		now := time.Now()
		put := func(i int, exp time.Time) {
			key := [32]byte{byte(i), byte(i >> 8), byte(i >> 16)}
			v.put(key, verifiedToken{claims: AccessClaims{ExpiresAt: exp}}, now)
		}
		for i := range maxVerified {
			put(i, now.Add(-time.Duration(i%2)*time.Hour)) // every other one expired
		}
		put(maxVerified, now.Add(time.Hour))
		if n := len(v.m); n != maxVerified/2+1 {
			t.Fatalf("%d tokens remembered when full; want the %d live ones and the new one", n, maxVerified/2)
		}
		for i := range maxVerified {
			put(maxVerified+1+i, now.Add(time.Hour))
		}
		if n := len(v.m); n > maxVerified {
			t.Fatalf("%d tokens remembered; want at most %d", n, maxVerified)
		}
	})
}
