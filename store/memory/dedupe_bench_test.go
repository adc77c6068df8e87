package memory_test

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/patrickmn/go-cache"

	"github.com/wxsub/wxsub/store"
	"github.com/wxsub/wxsub/store/memory"
)

// dedupeKey builds the n-th key in *buf, shaped like the route's default
// key for an event, so that every iteration claims a key never seen.
func dedupeKey(buf *[]byte, n int) string {
	b := append((*buf)[:0], "e:gh_97417a04a28d:o9AgO5Kd5ggOC-bXrbNODIiE3bGY:"...)
	b = strconv.AppendInt(b, int64(n), 10)
	b = append(b, ":subscribe_msg_popup_event"...)
	*buf = b
	return string(b)
}

// BenchmarkDedupeBeginDone measures what the route asks of its default
// store for every push, a Begin on a new key and then Done, against the
// same pair on go-cache under one mutex, as this package did before its
// dedupe moved to hashed keys.
func BenchmarkDedupeBeginDone(b *testing.B) {
	ctx := context.Background()
	stores := []struct {
		name string
		new  func() store.DedupeStore
	}{
		{"Dedupe", func() store.DedupeStore { return memory.NewDedupe() }},
		{"Store", func() store.DedupeStore { return memory.New() }},
	}
	for _, st := range stores {
		b.Run(st.name, func(b *testing.B) {
			s := st.new()
			var buf []byte
			n := 0
			b.ReportAllocs()
			for b.Loop() {
				n++
				key := dedupeKey(&buf, n)
				if state, err := s.Begin(ctx, key, 6*time.Second); err != nil || state != store.DedupeNew {
					b.Fatal(state, err)
				}
				if err := s.Done(ctx, key, 10*time.Minute); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("go-cache", func(b *testing.B) {
		c := cache.New(cache.NoExpiration, time.Minute)
		var mu sync.Mutex
		var buf []byte
		n := 0
		b.ReportAllocs()
		for b.Loop() {
			n++
			key := dedupeKey(&buf, n)
			mu.Lock()
			if _, ok := c.Get(key); ok {
				b.Fatal("key seen")
			}
			c.Set(key, store.DedupeInFlight, 6*time.Second)
			mu.Unlock()
			mu.Lock()
			c.Set(key, store.DedupeDone, 10*time.Minute)
			mu.Unlock()
		}
	})
}
