package redis_test

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wxsub/wxsub/internal/redistest"
	"github.com/wxsub/wxsub/store"
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

// BenchmarkConsumeOnce compares a send's store calls with receipts,
// ConsumeOnce then Settle(Kept) (two EVALSHA round trips), with a bare
// Consume (one), from one goroutine. The second sub-benchmark reports its
// cost as a multiple of the first's (x-Consume), measured in the same run.
func BenchmarkConsumeOnce(b *testing.B) {
	benchConsumeOnce(b, false)
}

// BenchmarkConsumeOnceParallel is BenchmarkConsumeOnce from 32 goroutines
// per GOMAXPROCS on one record.
func BenchmarkConsumeOnceParallel(b *testing.B) {
	benchConsumeOnce(b, true)
}

func benchConsumeOnce(b *testing.B, parallel bool) {
	ctx := context.Background()
	c, prefix := redistest.Client(b)
	s, err := wxredis.New(c, wxredis.WithPrefix(prefix))
	if err != nil {
		b.Fatal(err)
	}
	if _, err := s.AddOneTime(ctx, "openid", "tmpl", benchGrants, 0); err != nil {
		b.Fatal(err)
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
		run(b, func() error { _, err := s.Consume(ctx, "openid", "tmpl"); return err })
		consumeNs = float64(b.Elapsed()) / float64(b.N)
	})
	b.Run("ConsumeOnce+Settle", func(b *testing.B) {
		var seq atomic.Uint64
		run(b, func() error {
			// The operation records expire after a minute, and the test's
			// cleanup deletes them with the prefix.
			r, _, err := s.ConsumeOnce(ctx, "send-"+strconv.FormatUint(seq.Add(1), 10), time.Minute, "openid", "tmpl")
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
