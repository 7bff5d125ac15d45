package webauthn_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/sesame-auth/sesame/internal/testauthn"
)

// TestAttachmentKeptOnlyWhenKnown: the authenticatorAttachment a client
// reports is stored (and shown) only when WebAuthn defines it; anything
// else is stored as "" (rule 54: no client string kept unchecked).
func TestAttachmentKeptOnlyWhenKnown(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	u := f.user(t, "attach@example.com")
	for _, tc := range []struct{ sent, stored string }{
		{"platform", "platform"},
		{"cross-platform", "cross-platform"},
		{"bogus", ""},
	} {
		id, options, err := f.svc.BeginRegistration(ctx, u, "")
		if err != nil {
			t.Fatal(err)
		}
		resp, err := testauthn.New(origin).Create(options)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(resp, &m); err != nil {
			t.Fatal(err)
		}
		m["authenticatorAttachment"] = tc.sent
		if resp, err = json.Marshal(m); err != nil {
			t.Fatal(err)
		}
		c, err := f.svc.FinishRegistration(ctx, u, id, resp, "")
		if err != nil || c.Attachment != tc.stored {
			t.Errorf("attachment %q: stored %q, %v; want %q", tc.sent, c.Attachment, err, tc.stored)
		}
	}
}
