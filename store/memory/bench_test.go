package memory_test

import (
	"context"
	"testing"

	"github.com/patrickmn/go-cache"

	"github.com/wxsub/wxsub/store/memory"
)

// benchGrants is enough grants that no benchmark run ever runs out, so the
// benchmarks measure Consume alone.
const benchGrants = 1 << 40

// BenchmarkConsume compares one uncontended Consume with go-cache's own
// DecrementInt on one key, the cheapest atomic update go-cache offers.
func BenchmarkConsume(b *testing.B) {
	ctx := context.Background()
	b.Run("wxsub", func(b *testing.B) {
		s := memory.New()
		if _, err := s.AddOneTime(ctx, "openid", "tmpl", benchGrants, 0); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := s.Consume(ctx, "openid", "tmpl"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("go-cache_DecrementInt", func(b *testing.B) {
		c := cache.New(cache.NoExpiration, 0)
		c.Set("openid\x00tmpl", int(benchGrants), cache.NoExpiration)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := c.DecrementInt("openid\x00tmpl", 1); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkConsumeParallel runs the same pair with 32 goroutines per
// GOMAXPROCS on one key, and checks that the count stays exact.
func BenchmarkConsumeParallel(b *testing.B) {
	ctx := context.Background()
	b.Run("wxsub", func(b *testing.B) {
		s := memory.New()
		if _, err := s.AddOneTime(ctx, "openid", "tmpl", benchGrants, 0); err != nil {
			b.Fatal(err)
		}
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
		b.StopTimer()
		g, err := s.Get(ctx, "openid", "tmpl")
		if err != nil || g.Remaining != benchGrants-int64(b.N) {
			b.Fatalf("after %d parallel Consume calls: Remaining = %d, %v; want %d",
				b.N, g.Remaining, err, benchGrants-int64(b.N))
		}
	})
	b.Run("go-cache_DecrementInt", func(b *testing.B) {
		c := cache.New(cache.NoExpiration, 0)
		c.Set("openid\x00tmpl", int(benchGrants), cache.NoExpiration)
		b.ReportAllocs()
		b.SetParallelism(32)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := c.DecrementInt("openid\x00tmpl", 1); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}
