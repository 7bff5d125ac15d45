package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/db"
)

// TestUsersCommands: list, show, disable, enable and delete through the
// command line, against a database a server would use; each change is
// audited and disable and delete end the user's sessions at once.
func TestUsersCommands(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	vars := env(map[string]string{"SESAME_DATABASE": "sqlite:" + filepath.Join(dir, "sesame.db"), "SESAME_DATA_DIR": dir})
	sesameCmd := func(args ...string) (string, error) {
		var out, errs bytes.Buffer
		err := run(ctx, args, vars, &out, &errs)
		return out.String(), err
	}
	if _, err := sesameCmd("migrate"); err != nil {
		t.Fatal(err)
	}
	d, err := db.Open(ctx, "sqlite:"+filepath.Join(dir, "sesame.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	now := time.Now()
	var users []sesame.User
	for _, email := range []string{"ann@example.com", "bob@example.com"} {
		u, _, err := d.EnsureUser(ctx, sesame.User{ID: sesame.NewID(), Email: email, WebAuthnHandle: sesame.RandomBytes(32), CreatedAt: now})
		if err != nil {
			t.Fatal(err)
		}
		users = append(users, u)
		if err := d.CreateSession(ctx, sesame.Session{ID: sesame.NewID(), UserID: u.ID, CreatedAt: now, LastUsedAt: now, ExpiresAt: now.Add(time.Hour), AuthTime: now, AMR: []string{"otp"}, UserAgent: "test", IP: "192.0.2.1"}, sesame.RandomBytes(32)); err != nil {
			t.Fatal(err)
		}
	}
	live := func(u sesame.User) int {
		s, err := d.UserSessions(ctx, u.ID, time.Now(), time.Now().Add(-time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		return len(s)
	}

	out, err := sesameCmd("users", "list", "--json")
	var list []map[string]any
	if err != nil || json.Unmarshal([]byte(out), &list) != nil || len(list) != 2 || list[0]["email"] != "ann@example.com" {
		t.Fatalf("users list --json = %v\n%s", err, out)
	}
	if out, err := sesameCmd("users", "list"); err != nil || !strings.Contains(out, "bob@example.com") || !strings.Contains(out, "LAST SIGN-IN") {
		t.Fatalf("users list = %v\n%s", err, out)
	}
	out, err = sesameCmd("users", "show", "Ann@Example.com", "--json")
	var shown map[string]any
	if err != nil || json.Unmarshal([]byte(out), &shown) != nil || shown["id"] != users[0].ID || len(shown["sessions"].([]any)) != 1 || shown["has_totp"] != false {
		t.Fatalf("users show --json = %v\n%s", err, out)
	}
	if out, err := sesameCmd("users", "show", "ann@example.com"); err != nil || !strings.Contains(out, "Recovery codes left:") {
		t.Fatalf("users show = %v\n%s", err, out)
	}

	if _, err := sesameCmd("users", "disable", "ann@example.com"); err != nil {
		t.Fatal(err)
	}
	if u, _ := d.UserByID(ctx, users[0].ID); u.DisabledAt == nil || live(u) != 0 {
		t.Fatalf("after disable: disabled_at %v, %d live sessions", u.DisabledAt, live(u))
	}
	if _, err := sesameCmd("users", "enable", "ann@example.com"); err != nil {
		t.Fatal(err)
	}
	if u, _ := d.UserByID(ctx, users[0].ID); u.DisabledAt != nil {
		t.Fatal("still disabled after enable")
	}
	if _, err := sesameCmd("users", "delete", "bob@example.com"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.UserByID(ctx, users[1].ID); err == nil || live(users[1]) != 0 {
		t.Fatal("bob is still there")
	}
	events, _ := d.AuditEvents(ctx, users[0].ID, 10)
	got := map[string]bool{}
	for _, e := range events {
		got[e.Event] = true
	}
	if !got["account_disabled"] || !got["account_enabled"] {
		t.Fatalf("audit events = %v", got)
	}
	if events, _ := d.AuditEvents(ctx, users[1].ID, 10); len(events) != 1 || events[0].Event != "account_deleted" {
		t.Fatalf("bob's audit events = %+v", events)
	}

	for _, bad := range [][]string{{"users"}, {"users", "show"}, {"users", "frobnicate"}, {"users", "delete", "nobody@example.com"}, {"users", "show", "--json"}} {
		if _, err := sesameCmd(bad...); err == nil {
			t.Errorf("sesame %v: no error", bad)
		}
	}
}
