package redistest

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

func TestClientCleansItsPrefix(t *testing.T) {
	var prefix string
	var opts *redis.Options
	t.Run("inner", func(t *testing.T) {
		c, p := Client(t)
		prefix, opts = p, Options(t)
		ctx := context.Background()
		for _, k := range []string{"a", "{b}c", "d*e"} {
			if err := c.Set(ctx, p+k, "1", time.Minute).Err(); err != nil {
				t.Fatal(err)
			}
		}
	})
	if opts == nil {
		t.Skip("inner test skipped")
	}
	c := redis.NewClient(opts)
	defer c.Close()
	keys, err := c.Keys(context.Background(), escapeGlob(prefix)+"*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 0 {
		t.Fatalf("keys left under %q: %v", prefix, keys)
	}
}

func TestServerStopStart(t *testing.T) {
	s := StartServer(t)
	c := redis.NewClient(&redis.Options{Addr: s.Addr(), MaxRetries: -1})
	defer c.Close()
	ctx := context.Background()
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	s.Stop()
	cctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	if err := c.Ping(cctx).Err(); err == nil {
		t.Fatal("PING succeeded against a stopped server")
	}
	cancel()
	s.Start()
	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatalf("PING after restart: %v", err)
	}
}

func TestDurableServerKeepsDataAcrossRestart(t *testing.T) {
	s := StartDurableServer(t)
	c := redis.NewClient(&redis.Options{Addr: s.Addr(), MaxRetries: -1})
	defer c.Close()
	ctx := context.Background()
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	s.Stop()
	s.Start()
	if v, err := c.Get(ctx, "k").Result(); err != nil || v != "v" {
		t.Fatalf("after a restart: %q, %v; want \"v\"", v, err)
	}
}

func TestSkipLogSummary(t *testing.T) {
	var l skipLog
	if got := l.summary("./p"); got != "" {
		t.Fatalf("summary of no skips = %q, want none", got)
	}
	l.add("they need Redis")
	if got, want := l.summary("./p"), "./p: 1 test skipped: they need Redis\n"; got != want {
		t.Fatalf("summary = %q, want %q", got, want)
	}
	l.add("they need Redis")
	l.add("a server binary")
	if got, want := l.summary("./p"), "./p: 3 tests skipped: a server binary; they need Redis\n"; got != want {
		t.Fatalf("summary = %q, want %q", got, want)
	}
}

func TestPackageDirIsRelativeToTheModule(t *testing.T) {
	if got := packageDir(); got != "./internal/redistest" {
		t.Fatalf("packageDir() = %q, want ./internal/redistest", got)
	}
}
