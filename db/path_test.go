package db_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/sesame-auth/sesame/db"
)

// A '#' or '?' in the database's path is part of it (before, the file
// was made where the path stopped: "x#01/sesame.db" became "x").
func TestSQLitePathWithURICharacters(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a#01?b%20")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "sesame.db")
	d, err := db.Open(context.Background(), "sqlite:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := d.Migrate(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Size() == 0 {
		t.Fatalf("stat %s: %v; want the database there", path, err)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(dir), "a")); !os.IsNotExist(err) {
		t.Errorf("a file where the path's '#' is: %v", err)
	}
}
