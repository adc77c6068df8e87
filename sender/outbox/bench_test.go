package outbox_test

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wxsub/wxsub/internal/cputime"
	"github.com/wxsub/wxsub/sender"
	"github.com/wxsub/wxsub/sender/outbox"
	"github.com/wxsub/wxsub/sender/sendertest"
	"github.com/wxsub/wxsub/store/memory"
)

// BenchmarkSend compares, in one run, a direct SendSubscribe with a job
// scheduled due now and sent by a one-worker MemoryEngine, both against
// the same fake WeChat with a grant consumed per send. The outbox's cost
// is the reservation's operation record, the job's bookkeeping and the
// hand-off to the worker. Each also reports cpu-ns/op, the CPU time the
// process (the fake WeChat included) spent per send, which a loaded
// machine does not inflate as it does the wall time.
func BenchmarkSend(b *testing.B) {
	srv := sendertest.NewServer()
	defer srv.Close()
	grants := memory.New()
	c, err := sender.New(srv.AppID, srv.Secret, sender.WithBaseURL(srv.URL), sender.WithGrantStore(grants))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	m := sender.SubscribeMessage{ToUser: "u", TemplateID: "T", Data: map[string]string{"thing1": "提醒"}}
	grant := func(n int) {
		if _, err := grants.AddOneTime(ctx, "u", "T", int64(n), 0); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := c.SendSubscribe(ctx, m); err == nil { // fetch the token first
		b.Fatal("sent without a grant")
	}
	grant(1)
	if _, err := c.SendSubscribe(ctx, m); err != nil {
		b.Fatal(err)
	}

	b.Run("direct", func(b *testing.B) {
		grant(b.N)
		b.ReportAllocs()
		cpu := startCPU()
		b.ResetTimer()
		for range b.N {
			if _, err := c.SendSubscribe(ctx, m); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		cpu.report(b)
	})
	var run atomic.Int64
	b.Run("outbox", func(b *testing.B) {
		run.Add(1)
		var ended atomic.Int64
		done := make(chan struct{})
		n := int64(b.N)
		box, err := outbox.New(c,
			outbox.WithEngine(outbox.NewMemoryEngine(outbox.MemoryOptions{Workers: 1})),
			outbox.WithLimiter(outbox.NewMemoryLimiter(outbox.Limits{PerSecond: 1 << 30}, nil)),
			outbox.OnEnd(func(_ context.Context, j outbox.Job) {
				if j.Status != outbox.StatusDelivered {
					b.Errorf("job %s ended %s: %s", j.Key, j.Status, j.Error)
				}
				if ended.Add(1) == n {
					close(done)
				}
			}))
		if err != nil {
			b.Fatal(err)
		}
		defer box.Close(ctx)
		grant(b.N)
		prefix := "bench-" + strconv.FormatInt(run.Load(), 10) + "-"
		b.ReportAllocs()
		cpu := startCPU()
		b.ResetTimer()
		for i := range b.N {
			if _, _, err := box.Schedule(ctx, prefix+strconv.Itoa(i), m); err != nil {
				b.Fatal(err)
			}
		}
		select {
		case <-done:
		case <-time.After(5 * time.Minute):
			b.Fatalf("%d of %d jobs ended", ended.Load(), n)
		}
		b.StopTimer()
		cpu.report(b)
	})
}

// cpuMark is the process's CPU time at the start of a measurement.
type cpuMark struct {
	at time.Duration
	ok bool
}

func startCPU() cpuMark {
	at, ok := cputime.Process()
	return cpuMark{at, ok}
}

// report reports the CPU time spent since m per op, as cpu-ns/op.
func (m cpuMark) report(b *testing.B) {
	if now, ok := cputime.Process(); ok && m.ok {
		b.ReportMetric(float64(now-m.at)/float64(b.N), "cpu-ns/op")
	}
}
