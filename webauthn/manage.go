package webauthn

// Managing stored credentials: list, rename, remove.

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/sesame-auth/sesame"
)

// List returns the user's credentials, oldest first.
func (s *Service) List(ctx context.Context, userID string) ([]sesame.Credential, error) {
	creds, err := s.cfg.Store.CredentialsByUser(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("list credentials: %w", err)
	}
	return creds, nil
}

// Rename names the user's credential id; not_found when the user has no
// such credential.
func (s *Service) Rename(ctx context.Context, userID string, id []byte, name string) (sesame.Credential, error) {
	name, err := CleanName(name)
	if err != nil {
		return sesame.Credential{}, err
	}
	if name == "" {
		return sesame.Credential{}, sesame.Errorf(sesame.EBadRequest, "Give the passkey a name.")
	}
	c, err := s.cfg.Store.RenameCredential(ctx, userID, id, name)
	if errors.Is(err, sesame.ErrNotFound) {
		return c, errNoCredential
	} else if err != nil {
		return c, fmt.Errorf("rename credential: %w", err)
	}
	return c, nil
}

// Remove deletes the user's credential id; not_found when the user has no
// such credential. The caller checks for a recent sign-in.
func (s *Service) Remove(ctx context.Context, userID string, id []byte) error {
	if err := s.cfg.Store.DeleteCredential(ctx, userID, id); errors.Is(err, sesame.ErrNotFound) {
		return errNoCredential
	} else if err != nil {
		return fmt.Errorf("remove credential: %w", err)
	}
	s.cfg.Logger.Info("passkey removed", "user", userID, "credential", CredentialID(id))
	return nil
}

var errNoCredential = sesame.Errorf(sesame.ENotFound, "No such passkey.")

// CleanName trims a credential name and checks it: valid UTF-8, at most
// MaxNameLength characters, control characters turned into spaces. An
// empty name stays empty.
func CleanName(name string) (string, error) {
	if !utf8.ValidString(name) {
		return "", sesame.Errorf(sesame.EBadRequest, "The name is not valid text.")
	}
	name = strings.TrimSpace(strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, name))
	if utf8.RuneCountInString(name) > MaxNameLength {
		return "", sesame.Errorf(sesame.EBadRequest, "A passkey name is at most %d characters.", MaxNameLength)
	}
	return name, nil
}
