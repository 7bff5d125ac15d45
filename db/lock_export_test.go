package db

import "context"

// CountRowsForTest returns how many rows table holds.
func (db *DB) CountRowsForTest(table string) (int, error) {
	var n int
	err := db.read.QueryRowContext(context.Background(), `SELECT count(*) FROM `+table).Scan(&n)
	return n, err
}
