package main

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/sesame-auth/sesame/internal/testkit"
)

// TestLinksOnlyTheClient: the load tool shares the machine with the server
// it measures, so it links no server, database driver or test harness
// (issue 12). `go list -deps` names every package it links.
func TestLinksOnlyTheClient(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		testkit.Missing(t, "no go tool in PATH")
	}
	out, err := exec.Command(goTool, "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		switch {
		case dep == "testing",
			strings.HasPrefix(dep, "github.com/gofiber/"),
			strings.HasPrefix(dep, "github.com/mattn/go-sqlite3"),
			strings.HasPrefix(dep, "github.com/jackc/pgx"),
			strings.HasPrefix(dep, "github.com/sesame-auth/sesame/server"),
			strings.HasPrefix(dep, "github.com/sesame-auth/sesame/db"),
			strings.HasPrefix(dep, "github.com/sesame-auth/sesame/internal/test"):
			t.Errorf("sesame-load links %s", dep)
		}
	}
}
