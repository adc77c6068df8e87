//go:build race

package codec

// raceEnabled reports a -race build, whose instrumentation allocates: the
// allocation tests run without it.
const raceEnabled = true
