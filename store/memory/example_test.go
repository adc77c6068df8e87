package memory_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/wxsub/wxsub/store"
	"github.com/wxsub/wxsub/store/memory"
)

// The callback route records a grant when the user accepts the popup; the
// sender consumes it for a send and refunds it when WeChat did not deliver.
func Example() {
	ctx := context.Background()
	s := memory.New()

	n, _ := s.AddOneTime(ctx, "o9AgO5Kd5ggOC", "tmpl-order", 1, 0)
	fmt.Println("granted:", n)

	r, err := s.Consume(ctx, "o9AgO5Kd5ggOC", "tmpl-order")
	fmt.Println("consumed:", r.Kind, err)

	_, err = s.Consume(ctx, "o9AgO5Kd5ggOC", "tmpl-order")
	fmt.Println("again:", errors.Is(err, store.ErrNoGrant))

	_ = s.Refund(ctx, r) // the send failed: give the grant back
	g, _ := s.Get(ctx, "o9AgO5Kd5ggOC", "tmpl-order")
	fmt.Println("remaining:", g.Remaining)
	// Output:
	// granted: 1
	// consumed: one-time <nil>
	// again: true
	// remaining: 1
}

// Begin lets exactly one handler run a push that WeChat delivers more than
// once.
func ExampleStore_Begin() {
	ctx := context.Background()
	s := memory.New()
	key := "o9AgO5Kd5ggOC|1714037059|subscribe_msg_popup_event"

	first, _ := s.Begin(ctx, key, 30*time.Second)
	retry, _ := s.Begin(ctx, key, 30*time.Second)
	fmt.Println(first, retry)

	_ = s.Done(ctx, key, 10*time.Minute)
	late, _ := s.Begin(ctx, key, 30*time.Second)
	fmt.Println(late)
	// Output:
	// new in-flight
	// done
}

// AcquireLease lets one caller refresh the access token while the others
// wait for it.
func ExampleStore_AcquireLease() {
	ctx := context.Background()
	s := memory.New()

	lease, err := s.AcquireLease(ctx, "wxba5fad812f8e6fb9", 10*time.Second)
	fmt.Println("first:", err)
	_, err = s.AcquireLease(ctx, "wxba5fad812f8e6fb9", 10*time.Second)
	fmt.Println("second:", errors.Is(err, store.ErrLeaseHeld))

	_ = s.SetToken(ctx, "wxba5fad812f8e6fb9", store.Token{
		AccessToken: "ACCESS_TOKEN",
		ExpiresAt:   time.Now().Add(2 * time.Hour),
	})
	_ = s.ReleaseLease(ctx, lease)
	tok, _ := s.GetToken(ctx, "wxba5fad812f8e6fb9")
	fmt.Println("token:", tok.AccessToken)
	// Output:
	// first: <nil>
	// second: true
	// token: ACCESS_TOKEN
}

// NewDedupe is the store to give a single instance's callback route when
// it needs no grant store: the same answers as Store.Begin, without
// go-cache's goroutines.
func ExampleNewDedupe() {
	ctx := context.Background()
	d := memory.NewDedupe()
	key := "m:gh_97417a04a28d:1864323726461255680"

	first, _ := d.Begin(ctx, key, 30*time.Second)
	_ = d.Abort(ctx, key) // the hook failed: let WeChat's retry run it again
	retry, _ := d.Begin(ctx, key, 30*time.Second)
	_ = d.Done(ctx, key, 10*time.Minute)
	late, _ := d.Begin(ctx, key, 30*time.Second)
	fmt.Println(first, retry, late)
	// Output:
	// new new done
}
