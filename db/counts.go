package db

import (
	"context"
	"fmt"
	"slices"
)

// countable are the tables whose sizes operators and tests watch: the ones
// that hold short-lived rows and must stay flat over a long run.
var countable = []string{"email_flows", "rate_limits", "sessions", "refresh_tokens", "webauthn_ceremonies",
	"spent_challenges", "scram_logins", "password_sets", "mfa_tokens_used", "failures", "audit_events"}

// TableRows returns the number of rows in table, one of countable.
func (db *DB) TableRows(ctx context.Context, table string) (int, error) {
	if !slices.Contains(countable, table) {
		return 0, fmt.Errorf("table rows: %q is not a countable table", table)
	}
	var n int
	if err := db.queryRow(ctx, `SELECT COUNT(*) FROM `+table).Scan(&n); err != nil {
		return 0, fmt.Errorf("table rows %s: %w", table, db.wrap(err))
	}
	return n, nil
}
