package db

import (
	"context"
	"fmt"
	"strings"

	"github.com/sesame-auth/sesame"
)

const clientColumns = `id, name, secret_hash, redirect_uris, post_logout_redirect_uris, backchannel_logout_uri, public, trusted, require_pkce, id_token_alg, created_at, ciba`

func scanClient(row interface{ Scan(...any) error }) (sesame.OAuthClient, error) {
	var c sesame.OAuthClient
	var redirects, logouts string
	var public, trusted, pkce, ciba int
	var created int64
	if err := row.Scan(&c.ID, &c.Name, &c.SecretHash, &redirects, &logouts, &c.BackchannelLogoutURI,
		&public, &trusted, &pkce, &c.IDTokenAlg, &created, &ciba); err != nil {
		return sesame.OAuthClient{}, err
	}
	c.RedirectURIs, c.PostLogoutRedirectURIs = lines(redirects), lines(logouts)
	c.Public, c.Trusted, c.RequirePKCE, c.CreatedAt, c.CIBA = public == 1, trusted == 1, pkce == 1, fromMS(created), ciba == 1
	return c, nil
}

// lines splits newline-separated URIs (a URI never holds a newline).
func lines(s string) []string {
	if s == "" {
		return []string{}
	}
	return strings.Split(s, "\n")
}

func flag(b bool) int {
	if b {
		return 1
	}
	return 0
}

// InsertOAuthClient registers a client.
func (db *DB) InsertOAuthClient(ctx context.Context, c sesame.OAuthClient) error {
	if _, err := db.exec(ctx, `INSERT INTO oauth_clients (`+clientColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		c.ID, c.Name, c.SecretHash, strings.Join(c.RedirectURIs, "\n"), strings.Join(c.PostLogoutRedirectURIs, "\n"),
		c.BackchannelLogoutURI, flag(c.Public), flag(c.Trusted), flag(c.RequirePKCE), c.IDTokenAlg, ms(c.CreatedAt), flag(c.CIBA)); err != nil {
		return fmt.Errorf("insert client: %w", err)
	}
	return nil
}

// OAuthClientByID returns the client id, or sesame.ErrNotFound.
func (db *DB) OAuthClientByID(ctx context.Context, id string) (sesame.OAuthClient, error) {
	c, err := scanClient(db.queryRow(ctx, `SELECT `+clientColumns+` FROM oauth_clients WHERE id = ?`, id))
	if err != nil {
		return c, fmt.Errorf("client: %w", db.wrap(err))
	}
	return c, nil
}

// OAuthClients returns every client, oldest first.
func (db *DB) OAuthClients(ctx context.Context) ([]sesame.OAuthClient, error) {
	rows, err := db.query(ctx, `SELECT `+clientColumns+` FROM oauth_clients ORDER BY created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("clients: %w", err)
	}
	defer rows.Close()
	out := []sesame.OAuthClient{}
	for rows.Next() {
		c, err := scanClient(rows)
		if err != nil {
			return nil, fmt.Errorf("clients: %w", err)
		}
		out = append(out, c)
	}
	return out, db.wrap(rows.Err())
}

// DeleteOAuthClient removes a client with its consents, grants and tokens.
func (db *DB) DeleteOAuthClient(ctx context.Context, id string) error {
	res, err := db.exec(ctx, `DELETE FROM oauth_clients WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("delete client: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return sesame.ErrNotFound
	}
	return nil
}

// SetOAuthClientSecret replaces a confidential client's secret hash.
func (db *DB) SetOAuthClientSecret(ctx context.Context, id string, hash []byte) error {
	res, err := db.exec(ctx, `UPDATE oauth_clients SET secret_hash = ? WHERE id = ? AND public = 0`, hash, id)
	if err != nil {
		return fmt.Errorf("set client secret: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return sesame.ErrNotFound
	}
	return nil
}
