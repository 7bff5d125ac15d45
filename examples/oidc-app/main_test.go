package main

import (
	"context"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestBuilds builds the example as a person following docs/oidc.md would,
// so a change to its libraries or to this module cannot leave it broken.
func TestBuilds(t *testing.T) {
	out := filepath.Join(t.TempDir(), "oidc-app")
	cmd := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "build", "-o", out, ".")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
}

// TestNeedsClientID: without a client id the example says what to do
// instead of starting half-configured.
func TestNeedsClientID(t *testing.T) {
	err := run(context.Background(), nil, func(string) string { return "" })
	if err == nil || !strings.Contains(err.Error(), "sesame clients add") {
		t.Fatalf("run without a client id = %v; want advice to register the app", err)
	}
}

// TestDiscoveryFailureIsClear: an issuer that is not there is named.
func TestDiscoveryFailureIsClear(t *testing.T) {
	err := run(context.Background(), []string{"-client-id", "x", "-issuer", "http://127.0.0.1:1"}, func(string) string { return "" })
	if err == nil || !strings.Contains(err.Error(), "http://127.0.0.1:1") {
		t.Fatalf("run with a dead issuer = %v; want an error naming it", err)
	}
}
