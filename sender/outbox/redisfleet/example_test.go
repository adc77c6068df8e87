package redisfleet_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/wxsub/wxsub/internal/redistest"
	"github.com/wxsub/wxsub/sender/outbox"
	"github.com/wxsub/wxsub/sender/outbox/redisfleet"
)

// A fleet's limiter and tally on the app's Redis client: every instance
// creates them with the same prefix and limits, and hands them to
// outbox.New (outbox.WithLimiter, outbox.WithTally). It needs a Redis at
// WXSUB_REDIS_ADDR or 127.0.0.1:6379, so it has no Output line.
func Example() {
	addr := os.Getenv("WXSUB_REDIS_ADDR")
	if addr == "" {
		addr = "127.0.0.1:6379"
	}
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	defer rdb.Close()
	prefix := fmt.Sprintf("wxsub-example:{wx%d}:", time.Now().UnixNano())
	defer func() { // tidy the example's keys
		ctx := context.Background()
		for _, pattern := range []string{prefix + "*", "rate:" + prefix + "*"} {
			keys, _ := rdb.Keys(ctx, pattern).Result()
			if len(keys) > 0 {
				rdb.Del(ctx, keys...)
			}
		}
	}()
	ctx := context.Background()

	// 2 sends a second with a burst of 3; a daily budget of 4, half of
	// it for campaigns.
	lim, err := redisfleet.NewLimiter(rdb, prefix, outbox.Limits{PerSecond: 2, Burst: 3, Daily: 4, CampaignShare: 50})
	if err != nil {
		fmt.Println(err)
		return
	}
	for i := range 3 {
		w, err := lim.Take(ctx, outbox.Campaign)
		if err != nil {
			fmt.Println(err)
			return
		}
		if w == 0 {
			fmt.Printf("campaign send %d: go\n", i+1)
		} else {
			fmt.Printf("campaign send %d: wait for the next quota day\n", i+1)
		}
	}
	if w, _ := lim.Take(ctx, outbox.Transactional); w == 0 {
		fmt.Println("transactional send: go")
	}
	if w, _ := lim.Take(ctx, outbox.Transactional); w > 0 && w < time.Second {
		fmt.Println("transactional send: wait for the rate")
	}

	// After WeChat's 45009, every instance waits until the quota resets.
	_ = lim.Pause(ctx, outbox.NextQuotaReset(time.Now()))
	if w, _ := lim.Take(ctx, outbox.Transactional); w > time.Second {
		fmt.Println("paused until midnight, China Standard Time")
	}

	tally, err := redisfleet.NewTally(rdb, prefix)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, key := range []string{"spring-u1", "spring-u2", "spring-u1"} {
		counted, _ := tally.Record(ctx, "spring", key, outbox.OutcomeDelivered)
		fmt.Println(key, "counted:", counted)
	}
	counts, _ := tally.Counts(ctx, "spring")
	fmt.Println("delivered:", counts[outbox.OutcomeDelivered])
	// It prints (TestExample checks it when a Redis answers):
	//
	//	campaign send 1: go
	//	campaign send 2: go
	//	campaign send 3: wait for the next quota day
	//	transactional send: go
	//	transactional send: wait for the rate
	//	paused until midnight, China Standard Time
	//	spring-u1 counted: true
	//	spring-u2 counted: true
	//	spring-u1 counted: false
	//	delivered: 2
}

// TestExample runs Example against the test Redis and checks what it
// prints.
func TestExample(t *testing.T) {
	redistest.Addr(t) // skips (or fails under CI) without a Redis
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout := os.Stdout
	os.Stdout = w
	done := make(chan []byte)
	go func() { b, _ := io.ReadAll(r); done <- b }()
	func() {
		defer func() { os.Stdout = stdout }()
		Example()
	}()
	_ = w.Close()
	got := string(<-done)
	want := `campaign send 1: go
campaign send 2: go
campaign send 3: wait for the next quota day
transactional send: go
transactional send: wait for the rate
paused until midnight, China Standard Time
spring-u1 counted: true
spring-u2 counted: true
spring-u1 counted: false
delivered: 2
`
	if got != want {
		t.Errorf("Example printed:\n%s\nwant:\n%s", got, want)
	}
}
