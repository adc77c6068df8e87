package cputime

import (
	"testing"
	"time"
)

// Spinning for 50 ms of wall time uses CPU time.
func TestProcessCountsWork(t *testing.T) {
	before, ok := Process()
	if !ok {
		t.Skip("no CPU time on this system") // only where the system does not tell
	}
	start := time.Now()
	x := 0
	for time.Since(start) < 50*time.Millisecond {
		x++
	}
	after, _ := Process()
	if after <= before {
		t.Fatalf("CPU time went from %v to %v over 50 ms of work (%d loops)", before, after, x)
	}
}
