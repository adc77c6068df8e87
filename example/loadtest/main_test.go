package loadtest

import (
	"context"
	"os"
	"testing"

	goredis "github.com/redis/go-redis/v9"

	"github.com/wxsub/wxsub/internal/redistest"
)

// quiet drops go-redis's own log lines: the fault tests stop Redis on
// purpose, and every failed dial would otherwise print one.
type quiet struct{}

func (quiet) Printf(context.Context, string, ...any) {}

// TestMain quiets go-redis when the suite runs, and says after the tests
// how many were skipped (all of them without WXSUB_LOAD).
func TestMain(m *testing.M) {
	if framework := os.Getenv(serveEnv); framework != "" {
		os.Exit(serveChild(framework))
	}
	if os.Getenv(workerEnv) != "" {
		// A fleet proof re-executed this binary as an outbox worker.
		goredis.SetLogger(quiet{})
		os.Exit(runWorker())
	}
	if os.Getenv(LoadEnv) != "" {
		goredis.SetLogger(quiet{})
	}
	os.Exit(redistest.Main(m))
}
