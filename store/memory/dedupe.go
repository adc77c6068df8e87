package memory

import (
	"context"
	"hash/maphash"
	"sync"
	"time"

	"github.com/wxsub/wxsub/store"
)

// Dedupe is an in-process store.DedupeStore: the keys of the pushes one
// instance has handled. The callback route (package middleware) uses one
// per Endpoint when it is given no DedupeStore; a Store holds one too.
//
// It differs from the rest of this package because its load does. Grants
// and tokens are few and read far more often than written; dedupe records
// are written for every push WeChat delivers and kept for minutes, so a
// busy route holds hundreds of thousands of them, and almost every Begin
// asks about a key it has never seen. In go-cache each record would be a
// string key and an interface value that the garbage collector scans on
// every cycle, and each push would cost a key copy and two boxed writes.
// Dedupe instead remembers a key by two independent 64-bit hashes (a false
// match among a million live keys has a chance near 2^-88), in tables that
// hold no pointers and so are never scanned, split into shards with a lock
// each so that concurrent pushes seldom wait for one another. A table is
// open-addressed with linear probing, so that a lookup in a table too big
// for the CPU's caches usually costs one miss, where a Go map costs two or
// more. Expired records are dropped when a shard's table fills up and is
// rebuilt; there is no goroutine to stop, so a Dedupe that is no longer
// used is simply garbage.
//
// A Dedupe is safe for concurrent use. The zero value is not usable; call
// NewDedupe.
type Dedupe struct {
	seeds [2]maphash.Seed
	// epoch anchors expiry times on the monotonic clock.
	epoch  time.Time
	shards [dedupeShards]dedupeShard
}

// dedupeShards is the number of shards, a power of two.
const dedupeShards = 16

type dedupeShard struct {
	mu  sync.Mutex
	tab dedupeTable
	// The padding keeps each shard's lock on a cache line of its own.
	_ [24]byte
}

// dedupeEntry packs a record into one word: the time it expires, in
// nanoseconds since the epoch, shifted left once, and in the low bit
// whether the push is done. A record expires after the epoch, so no
// record is 0, which marks an empty slot.
type dedupeEntry uint64

// maxExpiry is the latest expiry an entry can hold, about 146 years after
// the epoch; longer TTLs are cut to it.
const maxExpiry = time.Duration(1<<62 - 1)

func makeEntry(now, ttl time.Duration, done bool) dedupeEntry {
	expires := maxExpiry
	if ttl < maxExpiry-now {
		expires = now + ttl
	}
	e := dedupeEntry(expires) << 1
	if done {
		e |= 1
	}
	return e
}

func (e dedupeEntry) expires() time.Duration { return time.Duration(e >> 1) }
func (e dedupeEntry) done() bool             { return e&1 != 0 }

// Compile-time check that Dedupe implements store.DedupeExtender.
var _ store.DedupeExtender = (*Dedupe)(nil)

// NewDedupe returns an empty Dedupe, independent of every other one. It
// starts no goroutine and allocates a shard's table only when the shard
// first gets a key, so it is cheap enough to make one per Endpoint.
func NewDedupe() *Dedupe {
	return &Dedupe{seeds: [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()}, epoch: time.Now()}
}

// locate hashes key and returns its shard.
func (d *Dedupe) locate(key string) ([2]uint64, *dedupeShard) {
	h := [2]uint64{maphash.String(d.seeds[0], key), maphash.String(d.seeds[1], key)}
	return h, &d.shards[h[0]%dedupeShards]
}

// now is the time since the epoch.
func (d *Dedupe) now() time.Duration { return time.Since(d.epoch) }

// open checks the arguments of a call that sets key's record for ttl, and
// returns the key's hash, its shard and the time.
func (d *Dedupe) open(ctx context.Context, key string, ttl time.Duration) ([2]uint64, *dedupeShard, time.Duration, error) {
	if err := ctxErr(ctx); err != nil {
		return [2]uint64{}, nil, 0, err
	}
	if err := store.CheckKeyTTL("dedupe", key, ttl); err != nil {
		return [2]uint64{}, nil, 0, err
	}
	h, s := d.locate(key)
	return h, s, d.now(), nil
}

// state returns the state of the record under h at now: DedupeNew when
// there is none or it expired. The caller holds s.mu.
func (s *dedupeShard) state(h [2]uint64, now time.Duration) store.DedupeState {
	e := s.tab.get(h)
	switch {
	case e == 0 || now >= e.expires():
		return store.DedupeNew
	case e.done():
		return store.DedupeDone
	}
	return store.DedupeInFlight
}

// Begin claims key for lease if nobody holds it; see store.DedupeStore.
func (d *Dedupe) Begin(ctx context.Context, key string, lease time.Duration) (store.DedupeState, error) {
	return d.claimIf(ctx, key, lease, store.DedupeNew)
}

// Extend lengthens an in-flight claim on key; see store.DedupeExtender.
func (d *Dedupe) Extend(ctx context.Context, key string, lease time.Duration) (store.DedupeState, error) {
	return d.claimIf(ctx, key, lease, store.DedupeInFlight)
}

// claimIf claims key for lease, from now, if its record is in state when,
// and returns the state it found.
func (d *Dedupe) claimIf(ctx context.Context, key string, lease time.Duration, when store.DedupeState) (store.DedupeState, error) {
	h, s, now, err := d.open(ctx, key, lease)
	if err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.state(h, now)
	if st == when {
		s.tab.set(h, makeEntry(now, lease, false), now)
	}
	return st, nil
}

// Done marks key as handled for ttl.
func (d *Dedupe) Done(ctx context.Context, key string, ttl time.Duration) error {
	h, s, now, err := d.open(ctx, key, ttl)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.tab.set(h, makeEntry(now, ttl, true), now)
	s.mu.Unlock()
	return nil
}

// Abort drops an in-flight claim on key; a key already done stays done.
func (d *Dedupe) Abort(ctx context.Context, key string) error {
	if err := ctxErr(ctx); err != nil {
		return err
	}
	if err := store.CheckKey("dedupe", key); err != nil {
		return err
	}
	h, s := d.locate(key)
	s.mu.Lock()
	if e := s.tab.get(h); e != 0 && !e.done() {
		s.tab.remove(h)
	}
	s.mu.Unlock()
	return nil
}

// Len returns the number of records held, expired ones not yet dropped
// included.
func (d *Dedupe) Len() int {
	n := 0
	for i := range d.shards {
		s := &d.shards[i]
		s.mu.Lock()
		n += s.tab.n
		s.mu.Unlock()
	}
	return n
}
