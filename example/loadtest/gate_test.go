package loadtest

import (
	"os"
	"testing"
	"time"

	"github.com/wxsub/wxsub/internal/redistest"
)

// LoadEnv selects the form of the suite: "short" (CI) or "full".
const LoadEnv = "WXSUB_LOAD"

// form is the scale of one run of the suite.
type form struct {
	name string
	// sustain is how long each sustained-load target is driven; the heap
	// is measured at sustain/3 and at sustain (10 s and 30 s in full).
	sustain time.Duration
	// workers is the number of concurrent pushers.
	workers int
	// outage is how long Redis stays down in the fault test.
	outage time.Duration
	// before and after are the load before and after the outage.
	before, after time.Duration
}

// gate skips the test unless WXSUB_LOAD selects a form, and returns it.
func gate(t *testing.T) form {
	t.Helper()
	switch v := os.Getenv(LoadEnv); v {
	case "short":
		return form{name: v, sustain: 3 * time.Second, workers: 8, outage: 5 * time.Second, before: time.Second, after: 2 * time.Second}
	case "full":
		return form{name: v, sustain: 30 * time.Second, workers: 16, outage: 5 * time.Second, before: 5 * time.Second, after: 10 * time.Second}
	case "":
		redistest.Skip(t, "load and fault tests are long: set "+LoadEnv+"=short (a few seconds each) or "+LoadEnv+"=full to run them")
	default:
		t.Fatalf("%s=%q: want short or full", LoadEnv, v)
	}
	return form{}
}
