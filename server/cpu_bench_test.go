package server_test

import (
	"syscall"
	"testing"
	"time"
)

// cpuClock measures the CPU time this process spends (user and system,
// every thread): on a shared, busy machine it says what an operation
// costs where wall time says how long it waited.
type cpuClock struct{ start time.Duration }

func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// startCPU resets b's timer and starts measuring CPU with it.
func startCPU(b *testing.B) *cpuClock {
	b.ResetTimer()
	return &cpuClock{start: processCPU()}
}

// report adds cpu-µs/op: the process's CPU time per operation, the
// client's share (authenticator, HTTP test harness) included.
func (c *cpuClock) report(b *testing.B) {
	b.ReportMetric(float64((processCPU()-c.start).Microseconds())/float64(b.N), "cpu-µs/op")
}
