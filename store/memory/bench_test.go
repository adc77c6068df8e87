package memory_test

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/patrickmn/go-cache"

	"github.com/wxsub/wxsub/store"
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

// benchOpTTL is the operation TTL of the ConsumeOnce benchmarks: longer
// than any run, as a sender's would be, so every operation of the run stays
// live (one user's map grows by b.N) and none can expire between its
// ConsumeOnce and its Settle on a loaded machine.
const benchOpTTL = time.Hour

// BenchmarkConsumeOnce compares a send's store calls with receipts,
// ConsumeOnce then Settle(Kept), with a bare Consume, from one goroutine.
// The second sub-benchmark reports its cost as a multiple of the first's
// (x-Consume), measured in the same run.
func BenchmarkConsumeOnce(b *testing.B) {
	benchConsumeOnce(b, false)
}

// BenchmarkConsumeOnceParallel is BenchmarkConsumeOnce with 32 goroutines
// per GOMAXPROCS on one record: ConsumeOnce and Settle take the store's
// write lock, where Consume shares a read lock.
func BenchmarkConsumeOnceParallel(b *testing.B) {
	benchConsumeOnce(b, true)
}

func benchConsumeOnce(b *testing.B, parallel bool) {
	ctx := context.Background()
	newStore := func(b *testing.B) *memory.Store {
		s := memory.New()
		if _, err := s.AddOneTime(ctx, "openid", "tmpl", benchGrants, 0); err != nil {
			b.Fatal(err)
		}
		return s
	}
	run := func(b *testing.B, op func() error) {
		b.ReportAllocs()
		if !parallel {
			for b.Loop() {
				if err := op(); err != nil {
					b.Fatal(err)
				}
			}
			return
		}
		b.SetParallelism(32)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := op(); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	var consumeNs float64
	b.Run("Consume", func(b *testing.B) {
		s := newStore(b)
		run(b, func() error { _, err := s.Consume(ctx, "openid", "tmpl"); return err })
		consumeNs = float64(b.Elapsed()) / float64(b.N)
	})
	b.Run("ConsumeOnce+Settle", func(b *testing.B) {
		s := newStore(b)
		var seq atomic.Uint64
		run(b, func() error {
			r, _, err := s.ConsumeOnce(ctx, "send-"+strconv.FormatUint(seq.Add(1), 10), benchOpTTL, "openid", "tmpl")
			if err != nil {
				return err
			}
			_, err = s.Settle(ctx, r, store.Kept)
			return err
		})
		if consumeNs > 0 {
			b.ReportMetric(float64(b.Elapsed())/float64(b.N)/consumeNs, "x-Consume")
		}
	})
}
