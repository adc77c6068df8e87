package asynqengine_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/wxsub/wxsub/internal/redistest"
	"github.com/wxsub/wxsub/sender"
	"github.com/wxsub/wxsub/sender/outbox"
	"github.com/wxsub/wxsub/sender/outbox/asynqengine"
)

// An engine on the app's Redis client. An outbox.Outbox normally starts it
// with its own RunFunc (outbox.New with outbox.WithEngine); here a RunFunc
// that only reports the job shows what the engine hands it. It needs a
// Redis at WXSUB_REDIS_ADDR or 127.0.0.1:6379, so it has no Output line.
func Example() {
	addr := os.Getenv("WXSUB_REDIS_ADDR")
	if addr == "" {
		addr = "127.0.0.1:6379"
	}
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	defer rdb.Close()
	prefix := fmt.Sprintf("wxsub-example:%d", time.Now().UnixNano())
	defer func() { // tidy the example's keys
		ctx := context.Background()
		for _, pattern := range []string{prefix + ":*", "asynq:{" + prefix + ":*"} {
			keys, _ := rdb.Keys(ctx, pattern).Result()
			if len(keys) > 0 {
				rdb.Del(ctx, keys...)
			}
		}
		rdb.SRem(ctx, "asynq:queues", prefix+":tx", prefix+":campaign")
	}()

	eng, err := asynqengine.New(rdb, asynqengine.Config{Prefix: prefix, PollInterval: 100 * time.Millisecond})
	if err != nil {
		fmt.Println(err)
		return
	}
	ran := make(chan struct{})
	err = eng.Start(func(ctx context.Context, j outbox.Job) outbox.Job {
		fmt.Println("running", j.Key, "for", j.Message.ToUser)
		j.Status, j.MsgID = outbox.StatusDelivered, "123456789"
		close(ran)
		return j
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	job := outbox.Job{
		Key:     "order-42-shipped",
		Message: sender.SubscribeMessage{ToUser: "openid-1", TemplateID: "tmpl-shipped", Data: map[string]string{"thing1": "shipped"}},
		At:      time.Now().Add(500 * time.Millisecond),
	}
	if _, created, err := eng.Add(ctx, job); err != nil || !created {
		fmt.Println("Add:", created, err)
		return
	}
	if _, created, _ := eng.Add(ctx, job); !created {
		fmt.Println("the same key again: the existing job")
	}
	select {
	case <-ran:
	case <-time.After(30 * time.Second):
		fmt.Println("no Redis?")
		return
	}
	for {
		j, err := eng.Get(ctx, job.Key)
		if err == nil && j.Status.Final() {
			fmt.Println(j.Status, j.MsgID)
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := eng.Close(ctx); err != nil {
		fmt.Println(err)
	}
	// It prints (TestExample checks it when a Redis answers):
	//
	//	the same key again: the existing job
	//	running order-42-shipped for openid-1
	//	delivered 123456789
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
	want := "the same key again: the existing job\nrunning order-42-shipped for openid-1\ndelivered 123456789\n"
	if got != want {
		t.Errorf("Example printed:\n%s\nwant:\n%s", got, want)
	}
}
