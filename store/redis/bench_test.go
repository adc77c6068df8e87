package redis_test

import (
	"context"
	"testing"

	"github.com/wxsub/wxsub/internal/redistest"
	wxredis "github.com/wxsub/wxsub/store/redis"
)

// benchGrants is enough grants that no benchmark run ever runs out, so the
// benchmark measures Consume alone.
const benchGrants = 1 << 50

// BenchmarkConsumeParallel compares Consume (one EVALSHA) with a bare INCRBY
// round trip through the same client, both from 32 goroutines per
// GOMAXPROCS on one key.
func BenchmarkConsumeParallel(b *testing.B) {
	ctx := context.Background()
	c, prefix := redistest.Client(b)
	s, err := wxredis.New(c, wxredis.WithPrefix(prefix))
	if err != nil {
		b.Fatal(err)
	}
	if _, err := s.AddOneTime(ctx, "openid", "tmpl", benchGrants, 0); err != nil {
		b.Fatal(err)
	}
	b.Run("wxsub", func(b *testing.B) {
		b.ReportAllocs()
		b.SetParallelism(32)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := s.Consume(ctx, "openid", "tmpl"); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	b.Run("INCRBY", func(b *testing.B) {
		key := prefix + "bench:incrby"
		b.ReportAllocs()
		b.SetParallelism(32)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := c.IncrBy(ctx, key, -1).Err(); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

// BenchmarkConsume is the same pair from one goroutine: the latency of one
// call.
func BenchmarkConsume(b *testing.B) {
	ctx := context.Background()
	c, prefix := redistest.Client(b)
	s, err := wxredis.New(c, wxredis.WithPrefix(prefix))
	if err != nil {
		b.Fatal(err)
	}
	if _, err := s.AddOneTime(ctx, "openid", "tmpl", benchGrants, 0); err != nil {
		b.Fatal(err)
	}
	b.Run("wxsub", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := s.Consume(ctx, "openid", "tmpl"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("INCRBY", func(b *testing.B) {
		key := prefix + "bench:incrby"
		b.ReportAllocs()
		for b.Loop() {
			if err := c.IncrBy(ctx, key, -1).Err(); err != nil {
				b.Fatal(err)
			}
		}
	})
}
