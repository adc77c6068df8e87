package middleware

import (
	"context"
	"hash/maphash"
	"sync"
	"time"

	"github.com/wxsub/wxsub/store"
)

// memDedupe is the DedupeStore an Endpoint uses when Config.Dedupe is nil.
// It sits on the hot path of every push, so it keeps no strings: a key is
// remembered by two independent 64-bit hashes (a false match among a
// million keys has a chance near 2^-88), in a map without pointers that
// the garbage collector need not scan. Expired entries are swept as the
// map grows; there is no goroutine to stop.
type memDedupe struct {
	seeds [2]maphash.Seed
	epoch time.Time

	mu      sync.Mutex
	entries map[[2]uint64]memEntry
	sweepAt int // the size at which the next sweep runs
}

type memEntry struct {
	expires time.Duration // since epoch, on the monotonic clock
	done    bool
}

const minSweep = 4096

func newMemDedupe() *memDedupe {
	return &memDedupe{
		seeds:   [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()},
		epoch:   time.Now(),
		entries: make(map[[2]uint64]memEntry),
		sweepAt: minSweep,
	}
}

func (d *memDedupe) hash(key string) [2]uint64 {
	return [2]uint64{maphash.String(d.seeds[0], key), maphash.String(d.seeds[1], key)}
}

func (d *memDedupe) Begin(ctx context.Context, key string, lease time.Duration) (store.DedupeState, error) {
	if key == "" || lease <= 0 {
		return 0, store.ErrInvalidArgument
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	h := d.hash(key)
	now := time.Since(d.epoch)
	d.mu.Lock()
	defer d.mu.Unlock()
	if e, ok := d.entries[h]; ok && now < e.expires {
		if e.done {
			return store.DedupeDone, nil
		}
		return store.DedupeInFlight, nil
	}
	d.entries[h] = memEntry{expires: now + lease}
	if len(d.entries) >= d.sweepAt {
		for k, e := range d.entries {
			if now >= e.expires {
				delete(d.entries, k)
			}
		}
		// Sweep again when the map has doubled from what is left, so a
		// sweep costs O(1) per Begin on average.
		d.sweepAt = max(2*len(d.entries), minSweep)
	}
	return store.DedupeNew, nil
}

func (d *memDedupe) Done(ctx context.Context, key string, ttl time.Duration) error {
	if key == "" || ttl <= 0 {
		return store.ErrInvalidArgument
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	h := d.hash(key)
	now := time.Since(d.epoch)
	d.mu.Lock()
	d.entries[h] = memEntry{expires: now + ttl, done: true}
	d.mu.Unlock()
	return nil
}

func (d *memDedupe) Abort(ctx context.Context, key string) error {
	if key == "" {
		return store.ErrInvalidArgument
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	h := d.hash(key)
	d.mu.Lock()
	if e, ok := d.entries[h]; ok && !e.done {
		delete(d.entries, h)
	}
	d.mu.Unlock()
	return nil
}
