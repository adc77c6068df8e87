package redistest

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

func TestClientCleansItsPrefix(t *testing.T) {
	var prefix string
	var addr string
	t.Run("inner", func(t *testing.T) {
		c, p := Client(t)
		prefix, addr = p, Addr(t)
		ctx := context.Background()
		for _, k := range []string{"a", "{b}c", "d*e"} {
			if err := c.Set(ctx, p+k, "1", time.Minute).Err(); err != nil {
				t.Fatal(err)
			}
		}
	})
	if addr == "" {
		t.Skip("inner test skipped")
	}
	c := redis.NewClient(&redis.Options{Addr: addr})
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
