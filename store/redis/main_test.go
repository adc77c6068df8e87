package redis_test

import (
	"context"
	"os"
	"testing"

	goredis "github.com/redis/go-redis/v9"

	"github.com/wxsub/wxsub/internal/redistest"
)

// quietLogger drops go-redis's internal log lines: the fault tests make it
// log every failed dial.
type quietLogger struct{}

func (quietLogger) Printf(context.Context, string, ...any) {}

// TestMain quiets go-redis and says, after the tests, how many were skipped
// for want of Redis.
func TestMain(m *testing.M) {
	goredis.SetLogger(quietLogger{})
	os.Exit(redistest.Main(m))
}
