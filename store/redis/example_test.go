package redis_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/wxsub/wxsub/store"
	wxredis "github.com/wxsub/wxsub/store/redis"
)

// A fleet of instances shares grants through one Redis. The client is the
// caller's: here a single node, with context deadlines bounding socket I/O.
func Example() {
	c := goredis.NewClient(&goredis.Options{Addr: "127.0.0.1:6379", ContextTimeoutEnabled: true})
	defer c.Close()
	s, err := wxredis.New(c, wxredis.WithPrefix("myapp:"))
	if err != nil {
		log.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	// The callback route, on a signed subscribe_msg_popup_event "accept":
	if _, err := s.AddOneTime(ctx, "o9AgO5Kd5ggOC", "tmpl-order", 1, 0); err != nil {
		log.Fatal(err)
	}
	// The sender, before a send:
	r, err := s.Consume(ctx, "o9AgO5Kd5ggOC", "tmpl-order")
	if errors.Is(err, store.ErrNoGrant) {
		fmt.Println("the user has not granted this template")
		return
	}
	if err != nil {
		log.Fatal(err)
	}
	// ... and when WeChat did not deliver the message:
	if err := s.Refund(ctx, r); err != nil {
		log.Fatal(err)
	}
}
