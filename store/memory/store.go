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
type Store struct {
	// grants maps an openid to its *userGrants. Records are created,
	// extended and removed with mu held for writing; Consume, Refund, Get
	// and List hold it for reading.
	grants *cache.Cache
	mu     sync.RWMutex
	genID  string        // random, distinguishes this store's generations
	genSeq atomic.Uint64 // numbers this store's grant records

	// tokens maps a key to a store.Token and leases a key to a lease ID.
	// tokenMu makes their compare-and-delete operations atomic.
	tokens  *cache.Cache
	leases  *cache.Cache
	tokenMu sync.Mutex

	// dedupe maps a push key to its store.DedupeState.
	dedupe   *cache.Cache
	dedupeMu sync.Mutex
}

// Compile-time checks that Store implements every store interface.
var (
	_ store.GrantStore  = (*Store)(nil)
	_ store.TokenStore  = (*Store)(nil)
	_ store.DedupeStore = (*Store)(nil)
)

// Option configures a Store.
type Option func(*options)

type options struct {
	cleanup time.Duration
}

// WithCleanupInterval sets how often expired entries are removed from
// memory. Non-positive values keep DefaultCleanupInterval, so that expired
// entries never pile up unnoticed.
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
		grants: newCache(),
		genID:  randomID(),
		tokens: newCache(),
		leases: newCache(),
		dedupe: newCache(),
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
