package password

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/sesame-auth/sesame/internal/testkit"
)

// TestIterationsBelowMinimumWarn: a count under MinIterations is allowed
// (load tests) but never silently: New warns in the configured log; at
// MinIterations it says nothing (SECURITY: no weaker number without a
// loud warning; rule 21).
func TestIterationsBelowMinimumWarn(t *testing.T) {
	for _, tc := range []struct {
		iterations int
		warn       bool
	}{
		{MinIterations - 1, true},
		{1, true},
		{MinIterations, false},
		{0, false}, // the default, MinIterations
	} {
		logs := &testkit.LogBuffer{}
		s := New(Config{Iterations: tc.iterations, Logger: slog.New(slog.NewTextHandler(logs, nil))})
		warned := strings.Contains(logs.String(), "below the safe minimum")
		if warned != tc.warn {
			t.Errorf("Iterations %d: warned %v; want %v (log %q)", tc.iterations, warned, tc.warn, logs.String())
		}
		if tc.iterations == 0 && s.cfg.Iterations != MinIterations {
			t.Errorf("Iterations 0 became %d; want MinIterations", s.cfg.Iterations)
		}
	}
}
