package db

import (
	"bytes"
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/sesame-auth/sesame"
)

const credentialColumns = `id, user_id, name, public_key, sign_count, aaguid, transports, attachment,
	attestation_type, attestation_format, user_verified, backup_eligible, backup_state, created_at, last_used_at, discoverable`

func scanCredential(row interface{ Scan(...any) error }) (sesame.Credential, error) {
	var c sesame.Credential
	var signCount, created int64
	var transports string
	var used sql.NullInt64
	var discoverable sql.NullBool
	if err := row.Scan(&c.ID, &c.UserID, &c.Name, &c.PublicKey, &signCount, &c.AAGUID, &transports, &c.Attachment,
		&c.AttestationType, &c.AttestationFormat, &c.UserVerified, &c.BackupEligible, &c.BackupState, &created, &used, &discoverable); err != nil {
		return sesame.Credential{}, err
	}
	if discoverable.Valid {
		c.Discoverable = &discoverable.Bool
	}
	c.SignCount = uint32(signCount)
	c.Transports = strings.Fields(transports)
	c.CreatedAt, c.LastUsedAt = fromMS(created), nullMS(used)
	return c, nil
}

// errDuplicateCredential answers the registration of a credential id that
// is already stored, for this user or another (SECURITY rule 6).
var errDuplicateCredential = sesame.Errorf(sesame.EConflict, "This passkey is already registered.")

// CreateCredential stores c. A credential id that is already stored, for
// any user, is a conflict.
func (db *DB) CreateCredential(ctx context.Context, c sesame.Credential) error {
	_, err := db.exec(ctx, `INSERT INTO webauthn_credentials (`+credentialColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		c.ID, c.UserID, c.Name, c.PublicKey, int64(c.SignCount), c.AAGUID, strings.Join(c.Transports, " "), c.Attachment,
		c.AttestationType, c.AttestationFormat, c.UserVerified, c.BackupEligible, c.BackupState, ms(c.CreatedAt), nullableMS(c.LastUsedAt),
		nullableBool(c.Discoverable))
	if sesame.ErrorCode(err) == sesame.EConflict {
		return errDuplicateCredential
	} else if err != nil {
		return fmt.Errorf("create credential: %w", err)
	}
	return nil
}

// CredentialByID returns the credential with id, whoever owns it, or
// sesame.ErrNotFound.
func (db *DB) CredentialByID(ctx context.Context, id []byte) (sesame.Credential, error) {
	c, err := scanCredential(db.queryRow(ctx, `SELECT `+credentialColumns+` FROM webauthn_credentials WHERE id = ?`, id))
	if err != nil {
		return c, fmt.Errorf("credential by id: %w", db.wrap(err))
	}
	return c, nil
}

// CredentialsByUser returns the user's credentials, oldest first. The
// index gives them in that order; ties (one millisecond) are ordered here,
// by id: on SQLite an ORDER BY the index cannot answer whole sets up a
// sorter, which took twice as long as the rest of the query.
func (db *DB) CredentialsByUser(ctx context.Context, userID string) ([]sesame.Credential, error) {
	rows, err := db.query(ctx, `SELECT `+credentialColumns+` FROM webauthn_credentials
		WHERE user_id = ? ORDER BY created_at`, userID)
	if err != nil {
		return nil, fmt.Errorf("credentials by user: %w", err)
	}
	defer rows.Close()
	var out []sesame.Credential
	for rows.Next() {
		c, err := scanCredential(rows)
		if err != nil {
			return nil, fmt.Errorf("credentials by user: %w", db.wrap(err))
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("credentials by user: %w", db.wrap(err))
	}
	slices.SortStableFunc(out, func(a, b sesame.Credential) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), bytes.Compare(a.ID, b.ID))
	})
	return out, nil
}

// UseCredential records a successful sign-in with c: its new signature
// counter, backup state and uvInitialized, and the time. It is a
// compare-and-swap on the counter read before verification (SECURITY rule
// 8): when another sign-in with the same credential got there first it
// changes nothing and returns sesame.ErrNotFound.
func (db *DB) UseCredential(ctx context.Context, c sesame.Credential, oldSignCount uint32, now time.Time) error {
	return useCredential(ctx, db, c, oldSignCount, now)
}

// RenameCredential names the user's credential id and returns it;
// sesame.ErrNotFound when the user has no such credential.
func (db *DB) RenameCredential(ctx context.Context, userID string, id []byte, name string) (sesame.Credential, error) {
	c, err := scanCredential(db.writeRow(ctx, `UPDATE webauthn_credentials SET name = ?
		WHERE id = ? AND user_id = ? RETURNING `+credentialColumns, name, id, userID))
	if err != nil {
		return c, fmt.Errorf("rename credential: %w", db.wrap(err))
	}
	return c, nil
}

// DeleteCredential removes the user's credential id; sesame.ErrNotFound
// when the user has no such credential.
func (db *DB) DeleteCredential(ctx context.Context, userID string, id []byte) error {
	res, err := db.exec(ctx, `DELETE FROM webauthn_credentials WHERE id = ? AND user_id = ?`, id, userID)
	if err != nil {
		return fmt.Errorf("delete credential: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return sesame.ErrNotFound
	}
	return nil
}

// nullableMS converts an optional time to its stored form.
func nullableMS(t *time.Time) any {
	if t == nil {
		return nil
	}
	return ms(*t)
}

func nullableBool(b *bool) sql.NullBool {
	if b == nil {
		return sql.NullBool{}
	}
	return sql.NullBool{Bool: *b, Valid: true}
}
