package app

import (
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/sesame-auth/sesame"
)

// LoadSecret returns the root secret: from SESAME_SECRET when set, else
// from dataDir/secret, generated there (mode 0600) on first start.
func LoadSecret(configured, dataDir string) (sesame.RootSecret, error) {
	if configured != "" {
		return decodeSecret(configured)
	}
	path := filepath.Join(dataDir, "secret")
	b, err := os.ReadFile(path)
	if err == nil {
		return decodeSecret(string(b))
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read root secret: %w", err)
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	// Write a temporary file, then link it into place: the link fails if
	// another process created the secret first, and nobody ever reads a
	// half-written file.
	secret := sesame.RandomBytes(32)
	tmp, err := os.CreateTemp(dataDir, ".secret-*")
	if err != nil {
		return nil, fmt.Errorf("create root secret: %w", err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.WriteString(base64.StdEncoding.EncodeToString(secret) + "\n")
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("write root secret: %w", err)
	}
	if err := os.Link(tmp.Name(), path); errors.Is(err, fs.ErrExist) {
		return LoadSecret("", dataDir)
	} else if err != nil {
		return nil, fmt.Errorf("store root secret: %w", err)
	}
	return secret, nil
}

func decodeSecret(s string) (sesame.RootSecret, error) {
	s = strings.TrimSpace(s)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			if len(b) < sesame.MinRootSecretLength {
				return nil, fmt.Errorf("root secret: %d bytes; want at least %d", len(b), sesame.MinRootSecretLength)
			}
			return b, nil
		}
	}
	return nil, errors.New("root secret: not base64")
}
