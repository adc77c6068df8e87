// Package cputime reads the CPU time the process has used, for benchmarks
// that report CPU cost next to wall time: on a shared, loaded machine a
// benchmark's wall time includes the time it waited for a processor, its
// CPU time does not.
package cputime

import "time"

// Process returns the user and system CPU time the process has used so
// far, all threads together, and false where the system does not tell
// (then the time is 0).
func Process() (time.Duration, bool) { return process() }
