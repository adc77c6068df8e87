package asynqengine

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/wxsub/wxsub/internal/cputime"
	"github.com/wxsub/wxsub/internal/redistest"
	"github.com/wxsub/wxsub/sender"
	"github.com/wxsub/wxsub/sender/outbox"
	wxredis "github.com/wxsub/wxsub/store/redis"
)

// BenchmarkAdd schedules jobs an hour ahead through Engine.Add, and
// BenchmarkBareEnqueue enqueues the same job as an asynq task with the
// same options and nothing else: the engine's Add adds one script (the job
// record) to asynq's enqueue. Both run 16 callers per processor; see
// BenchmarkSchedule for the three paths side by side.
func BenchmarkAdd(b *testing.B) {
	e, c := benchEngine(b)
	benchLoop(b, c, true, benchAddOp(e))
}

func BenchmarkBareEnqueue(b *testing.B) {
	e, c := benchEngine(b)
	benchLoop(b, c, true, benchBareOp(e))
}

// BenchmarkSchedule measures, in one run, the three ways to put a job an
// hour ahead into Redis, each on fresh keys:
//
//   - bare: a bare asynq Enqueue of the job as the task payload, with the
//     engine's options (one round trip: asynq's enqueue script);
//   - add: Engine.Add (two: the enqueue, then the job record's script);
//   - schedule: Outbox.Schedule on the engine and a Redis grant store
//     (three: the grant's reservation, then Add).
//
// "seq" runs one caller, which pays every round trip in turn; "par" runs
// 16 callers per processor, as a busy web tier would. With -count the
// three alternate, so each run's ratios compare like with like.
func BenchmarkSchedule(b *testing.B) {
	for _, mode := range []struct {
		name     string
		parallel bool
	}{{"seq", false}, {"par", true}} {
		b.Run(mode.name, func(b *testing.B) {
			b.Run("bare", func(b *testing.B) {
				e, c := benchEngine(b)
				benchLoop(b, c, mode.parallel, benchBareOp(e))
			})
			b.Run("add", func(b *testing.B) {
				e, c := benchEngine(b)
				benchLoop(b, c, mode.parallel, benchAddOp(e))
			})
			b.Run("schedule", func(b *testing.B) {
				e, c := benchEngine(b)
				benchLoop(b, c, mode.parallel, benchScheduleOp(b, e, c))
			})
		})
	}
}

// benchLoop calls op b.N times with fresh numbers, from one caller or from
// 16 per processor. Besides the wall time it reports the CPU time spent
// per op by this process (client-cpu-ns/op) and by the Redis server
// (redis-cpu-ns/op, from INFO cpu: meaningful when the benchmark has the
// server to itself), which a loaded machine does not inflate.
func benchLoop(b *testing.B, c *redis.Client, parallel bool, op func(n int64) error) {
	b.Helper()
	var n atomic.Int64
	b.ReportAllocs()
	cpu0, cpuOK := cputime.Process()
	redis0, redisOK := redisCPU(c)
	b.ResetTimer()
	if !parallel {
		for range b.N {
			if err := op(n.Add(1)); err != nil {
				b.Fatal(err)
			}
		}
	} else {
		b.SetParallelism(16) // RTT-bound otherwise, on 2 cores
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := op(n.Add(1)); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	b.StopTimer()
	if cpu1, ok := cputime.Process(); ok && cpuOK {
		b.ReportMetric(float64(cpu1-cpu0)/float64(b.N), "client-cpu-ns/op")
	}
	if redis1, ok := redisCPU(c); ok && redisOK {
		b.ReportMetric(float64(redis1-redis0)/float64(b.N), "redis-cpu-ns/op")
	}
}

// redisCPU returns the CPU time the Redis server has used (INFO cpu).
func redisCPU(c *redis.Client) (time.Duration, bool) {
	info, err := c.Info(context.Background(), "cpu").Result()
	if err != nil {
		return 0, false
	}
	var total float64
	found := 0
	for _, line := range strings.Split(info, "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), ":")
		if ok && (k == "used_cpu_sys" || k == "used_cpu_user") {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return 0, false
			}
			total += f
			found++
		}
	}
	return time.Duration(total * float64(time.Second)), found == 2
}

// benchAt is when the benchmarks' jobs are due: an hour ahead, so that
// none runs.
var benchAt = time.Now().Add(time.Hour)

func benchAddOp(e *Engine) func(int64) error {
	return func(n int64) error {
		_, _, err := e.Add(context.Background(), newJob("bench-"+strconv.FormatInt(n, 10), benchAt))
		return err
	}
}

func benchBareOp(e *Engine) func(int64) error {
	return func(n int64) error {
		j := newJob("bench-"+strconv.FormatInt(n, 10), benchAt)
		body, err := json.Marshal(j)
		if err != nil {
			return err
		}
		_, err = e.client.Enqueue(asynq.NewTask(TaskType, body), asynq.TaskID(j.Key), asynq.Queue(e.queues[0]),
			asynq.MaxRetry(maxRetry), asynq.Timeout(e.cfg.RunTimeout), asynq.Retention(e.cfg.Retention), asynq.ProcessAt(ceilSecond(benchAt)))
		return err
	}
}

// benchUsers share the schedule benchmark's reservations, as many users
// of an app would.
const benchUsers = 1024

// benchScheduleOp returns Outbox.Schedule on e, with a Redis grant store
// under e's prefix holding enough grants for b.N jobs.
func benchScheduleOp(b *testing.B, e *Engine, c *redis.Client) func(int64) error {
	b.Helper()
	grants, err := wxredis.New(c, wxredis.WithPrefix(e.cfg.Prefix+":grants:"))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	user := func(n int64) string { return "u" + strconv.FormatInt(n%benchUsers, 10) }
	for i := range int64(benchUsers) {
		if _, err := grants.AddOneTime(ctx, user(i), "t1", int64(b.N/benchUsers+1), 0); err != nil {
			b.Fatal(err)
		}
	}
	client, err := sender.New("wxbench", "secret", sender.WithGrantStore(grants))
	if err != nil {
		b.Fatal(err)
	}
	box, err := outbox.New(client, outbox.WithEngine(addOnly{e}))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = box.Close(ctx) })
	return func(n int64) error {
		m := sender.SubscribeMessage{ToUser: user(n), TemplateID: "t1", Data: map[string]string{"thing1": "x"}}
		_, created, err := box.Schedule(ctx, "bench-"+strconv.FormatInt(n, 10), m, outbox.At(benchAt))
		if err == nil && !created {
			err = errors.New("Schedule found a job already")
		}
		return err
	}
}

// addOnly is the engine with no workers, as BenchmarkAdd's: the schedule
// benchmark measures scheduling alone.
type addOnly struct{ *Engine }

func (addOnly) Start(outbox.RunFunc) error { return nil }

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
