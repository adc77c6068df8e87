package adaptertest

import (
	"bytes"
	"context"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/wxsub/wxsub/handlers"
	"github.com/wxsub/wxsub/middleware"
)

// BenchEndpoint is the Endpoint of the adapters' benchmarks: plaintext
// mode with a no-op popup hook and the default in-memory deduplication, as
// in middleware's own Serve benchmark.
func BenchEndpoint(b *testing.B) *middleware.Endpoint {
	b.Helper()
	mux := handlers.NewMux()
	mux.OnSubscribePopup(func(context.Context, *handlers.SubscribePopupEvent) error { return nil })
	e, err := middleware.New(middleware.Config{Token: Token, Mux: mux, ReplayWindow: middleware.NoReplayCheck})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = e.Close(context.Background()) })
	return e
}

// BenchPath is the route the benchmark servers mount.
const BenchPath = "/wechat"

// Parallelism is the number of connections per GOMAXPROCS that
// RoundTrips keeps busy, like a load generator (wrk) with that many.
const Parallelism = 8

// RoundTrips sends b.N signed plaintext popup pushes to the server at addr
// over Parallelism×GOMAXPROCS keep-alive connections at once, as a load
// generator does, and checks that each is answered 200 "success". Every
// push has its own CreateTime, so deduplication claims a new key each
// time. ns/op is the inverse of the requests per second.
func RoundTrips(b *testing.B, addr string) {
	b.Helper()
	var seq atomic.Int64
	seq.Store(1_000_000_000)
	req := PostRequest(BenchPath+"?"+SignedQuery(Now, "415670741"), PopupXML(1_000_000_000))
	at := bytes.Index(req, []byte("<CreateTime>")) + len("<CreateTime>")
	b.SetBytes(int64(len(req)))
	b.ReportAllocs()
	b.SetParallelism(Parallelism)
	b.RunParallel(func(pb *testing.PB) {
		c := Dial(b, addr)
		req := bytes.Clone(req)
		for pb.Next() {
			strconv.AppendInt(req[at:at], seq.Add(1), 10)
			status, body, err := c.RoundTrip(req)
			if err != nil {
				b.Error(err)
				return
			}
			if status != 200 || string(body) != "success" {
				b.Errorf("got %d %q", status, body)
				return
			}
		}
	})
}
