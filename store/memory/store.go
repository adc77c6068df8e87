package memory

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/patrickmn/go-cache"

	"github.com/wxsub/wxsub/store"
)

// DefaultCleanupInterval is how often expired entries are removed unless
// WithCleanupInterval says otherwise.
const DefaultCleanupInterval = time.Minute

// Store is an in-process grant, token and dedupe store. The zero value is
// not usable; call New. A Store is safe for concurrent use.
//
// New starts go-cache's janitor goroutines; a route that needs only a
// DedupeStore can use the lighter NewDedupe instead.
type Store struct {
	// grants maps an openid to its *userGrants. Records are created,
	// extended and removed with mu held for writing; Consume, Refund, Get
	// and List hold it for reading.
	grants *cache.Cache
	// ops holds the operation keys ApplyOnce has seen, changed with mu held
	// for writing.
	ops *cache.Cache
	// receipts maps an openid to the *userOps of its ConsumeOnce
	// operations: per user, so that DeleteUser removes them with the
	// user's records. Changed with mu held for writing.
	receipts *cache.Cache
	mu       sync.RWMutex
	genID    string        // random, distinguishes this store's generations
	genSeq   atomic.Uint64 // numbers this store's grant records

	// tokens maps a key to a store.Token and leases a key to a lease ID.
	// tokenMu makes their compare-and-delete operations atomic.
	tokens  *cache.Cache
	leases  *cache.Cache
	tokenMu sync.Mutex

	// dedupe holds the handled-push keys. It is not a go-cache: see
	// Dedupe for why.
	dedupe *Dedupe
}

// Compile-time checks that Store implements every store interface.
var (
	_ store.GrantStore     = (*Store)(nil)
	_ store.TokenStore     = (*Store)(nil)
	_ store.DedupeExtender = (*Store)(nil)
)

// Option configures a Store.
type Option func(*options)

type options struct {
	cleanup time.Duration
}

// WithCleanupInterval sets how often expired grants, tokens and leases
// are removed from memory (dedupe records are dropped when their table
// fills up, not on a schedule). Non-positive values keep DefaultCleanupInterval, so that
// expired entries never pile up unnoticed.
func WithCleanupInterval(d time.Duration) Option {
	return func(o *options) {
		if d > 0 {
			o.cleanup = d
		}
	}
}

// New returns an empty Store, independent of every other Store.
func New(opts ...Option) *Store {
	o := options{cleanup: DefaultCleanupInterval}
	for _, opt := range opts {
		opt(&o)
	}
	// go-cache's default expiration applies only when DefaultExpiration (0)
	// is passed. Every call below passes an explicit duration, and the
	// default is NoExpiration anyway, so nothing expires by accident.
	newCache := func() *cache.Cache { return cache.New(cache.NoExpiration, o.cleanup) }
	return &Store{
		grants:   newCache(),
		ops:      newCache(),
		receipts: newCache(),
		genID:    randomID(),
		tokens:   newCache(),
		leases:   newCache(),
		dedupe:   NewDedupe(),
	}
}

// maxCacheTTL is the longest TTL handed to go-cache, which computes expiry
// with time.Time.UnixNano (undefined past the year 2262). Longer TTLs are
// given as "never" there, and this package checks the real expiry itself.
const maxCacheTTL = 100 * 365 * 24 * time.Hour

// cacheTTL converts a store TTL, where 0 means "never expires", to
// go-cache's convention, where 0 means "the cache default" and
// cache.NoExpiration means never.
func cacheTTL(ttl time.Duration) time.Duration {
	if ttl <= 0 || ttl > maxCacheTTL {
		return cache.NoExpiration
	}
	return ttl
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("wxsub/store/memory: %w: %s", store.ErrInvalidArgument, fmt.Sprintf(format, args...))
}

// ctxErr returns an error wrapping ctx.Err() when ctx is done.
func ctxErr(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("wxsub/store/memory: %w", err)
	}
	return nil
}

// Begin claims key for lease if nobody holds it; see store.DedupeStore.
func (s *Store) Begin(ctx context.Context, key string, lease time.Duration) (store.DedupeState, error) {
	return s.dedupe.Begin(ctx, key, lease)
}

// Extend lengthens an in-flight claim on key; see store.DedupeExtender.
func (s *Store) Extend(ctx context.Context, key string, lease time.Duration) (store.DedupeState, error) {
	return s.dedupe.Extend(ctx, key, lease)
}

// Done marks key as handled for ttl.
func (s *Store) Done(ctx context.Context, key string, ttl time.Duration) error {
	return s.dedupe.Done(ctx, key, ttl)
}

// Abort drops an in-flight claim on key; a key already done stays done.
func (s *Store) Abort(ctx context.Context, key string) error {
	return s.dedupe.Abort(ctx, key)
}
