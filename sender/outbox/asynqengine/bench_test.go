package asynqengine

import (
	"context"
	"encoding/json"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/wxsub/wxsub/internal/redistest"
)

// BenchmarkAdd schedules jobs an hour ahead through Engine.Add, and
// BenchmarkBareEnqueue enqueues the same job as an asynq task with the
// same options and nothing else: the engine's Add adds one script (the job
// record) to asynq's enqueue.
func BenchmarkAdd(b *testing.B) {
	e, _ := benchEngine(b)
	var n atomic.Int64
	at := time.Now().Add(time.Hour)
	b.SetParallelism(16) // RTT-bound otherwise, on 2 cores
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			j := newJob("bench-"+strconv.FormatInt(n.Add(1), 10), at)
			if _, _, err := e.Add(context.Background(), j); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkBareEnqueue(b *testing.B) {
	e, _ := benchEngine(b)
	var n atomic.Int64
	at := time.Now().Add(time.Hour)
	b.SetParallelism(16) // RTT-bound otherwise, on 2 cores
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			j := newJob("bench-"+strconv.FormatInt(n.Add(1), 10), at)
			body, err := json.Marshal(j)
			if err != nil {
				b.Error(err)
				return
			}
			_, err = e.client.Enqueue(asynq.NewTask(TaskType, body), asynq.TaskID(j.Key), asynq.Queue(e.queues[0]),
				asynq.MaxRetry(maxRetry), asynq.Timeout(e.cfg.RunTimeout), asynq.Retention(e.cfg.Retention), asynq.ProcessAt(ceilSecond(at)))
			if err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func benchEngine(b *testing.B) (*Engine, *redis.Client) {
	b.Helper()
	addr := redistest.Addr(b)
	prefix := redistest.Prefix(b)
	prefix = prefix[:len(prefix)-1]
	c := redis.NewClient(&redis.Options{Addr: addr, PoolSize: 64})
	e, err := New(c, Config{Prefix: prefix})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		ctx := context.Background()
		redistest.DeletePrefix(ctx, c, prefix+":")
		redistest.DeletePrefix(ctx, c, "asynq:{"+prefix+":")
		c.SRem(ctx, "asynq:queues", e.queues[0], e.queues[1])
		_ = c.Close()
	})
	return e, c
}
