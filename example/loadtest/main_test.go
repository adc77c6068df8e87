package loadtest

import (
	"context"
	"os"
	"testing"

	goredis "github.com/redis/go-redis/v9"
)

// quiet drops go-redis's own log lines: the fault tests stop Redis on
// purpose, and every failed dial would otherwise print one.
type quiet struct{}

func (quiet) Printf(context.Context, string, ...any) {}

func TestMain(m *testing.M) {
	if os.Getenv(workerEnv) != "" {
		// A fleet proof re-executed this binary as an outbox worker.
		goredis.SetLogger(quiet{})
		os.Exit(runWorker())
	}
	if os.Getenv(LoadEnv) != "" {
		goredis.SetLogger(quiet{})
	}
	os.Exit(m.Run())
}
