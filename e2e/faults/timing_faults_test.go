//go:build faults

package faults

import "time"

// relayDown is how long the relay refuses connections in the mail tests.
const relayDown = 10 * time.Second
