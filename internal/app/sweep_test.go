package app_test

import (
	"context"
	"encoding/base64"
	"log/slog"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/internal/app"
	"github.com/sesame-auth/sesame/internal/testkit"
)

// TestSweeperRunsOnTheAppClock: a running server deletes expired rows by
// itself, judged by the clock it was given (so expiry tests need no sleep
// and a wrong clock shows).
func TestSweeperRunsOnTheAppClock(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	clock := testkit.NewClock(time.Now())
	logs := &testkit.LogBuffer{}
	a, err := app.Open(ctx, app.Config{
		PublicURL: "http://localhost:8080",
		Database:  "sqlite:" + filepath.Join(t.TempDir(), "sesame.db"),
		DataDir:   t.TempDir(),
		Secret:    base64.StdEncoding.EncodeToString(sesame.RandomBytes(32)),
	}, slog.New(slog.NewTextHandler(logs, nil)), app.Options{Now: clock.Now, SweepEvery: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	now := clock.Now()
	f := sesame.EmailFlow{ID: sesame.NewID(), Purpose: sesame.FlowSignIn, Email: "sweep@example.com", TokenHash: sesame.RandomBytes(32),
		CodeMAC: sesame.RandomBytes(32), CreatedAt: now, ExpiresAt: now.Add(15 * time.Minute)}
	if err := a.DB.CreateEmailFlow(ctx, f); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Serve(ctx, ln) }()
	defer func() { cancel(); <-done }()

	count := func() int {
		n, err := a.DB.TableRows(ctx, "email_flows")
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	time.Sleep(100 * time.Millisecond) // several sweeps while the flow is live
	if n := count(); n != 1 {
		t.Fatalf("a live flow was swept: %d rows", n)
	}
	clock.Advance(30 * 24 * time.Hour)
	for deadline := time.Now().Add(10 * time.Second); count() != 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the expired flow is still there after 10 s of sweeps on the app clock")
		}
	}
}
