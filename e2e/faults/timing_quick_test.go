//go:build !faults

package faults

import "time"

// relayDown is how long the relay refuses connections in the mail tests:
// short in `make test`; `make faults` runs them with the 10 s.
const relayDown = 2 * time.Second
