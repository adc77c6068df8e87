package redis

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/wxsub/wxsub/store"
)

// DefaultPrefix starts every key the store writes unless WithPrefix says
// otherwise.
const DefaultPrefix = "wxsub:"

// Store is a Redis-backed grant, token and dedupe store. It is safe for
// concurrent use and holds no state of its own beyond configuration.
type Store struct {
	c       goredis.UniversalClient
	prefix  string
	scripts *scripts
}

// Compile-time checks that Store implements every store interface.
var (
	_ store.GrantStore     = (*Store)(nil)
	_ store.TokenStore     = (*Store)(nil)
	_ store.DedupeExtender = (*Store)(nil)
)

// Option configures a Store.
type Option func(*Store)

// WithPrefix sets the string every key starts with (DefaultPrefix unless
// set), so that several apps or environments can share one Redis. It must
// not contain '{' or '}', which would break the cluster hash tags.
func WithPrefix(prefix string) Option {
	return func(s *Store) { s.prefix = prefix }
}

// New returns a Store that uses c. The caller keeps ownership of c and
// closes it after the last call.
func New(c goredis.UniversalClient, opts ...Option) (*Store, error) {
	if c == nil {
		return nil, errors.New("wxsub/store/redis: New: client is nil")
	}
	s := &Store{c: c, prefix: DefaultPrefix, scripts: newScripts()}
	for _, opt := range opts {
		opt(s)
	}
	if strings.ContainsAny(s.prefix, "{}") {
		return nil, fmt.Errorf("wxsub/store/redis: New: prefix %q contains '{' or '}'", s.prefix)
	}
	return s, nil
}

// tagEscaper makes an openid safe inside a hash tag: the escaped form has
// no braces, and escaping '%' keeps the mapping one-to-one.
var tagEscaper = strings.NewReplacer("%", "%25", "{", "%7B", "}", "%7D")

func hashTag(openID string) string {
	if strings.ContainsAny(openID, "%{}") {
		return tagEscaper.Replace(openID)
	}
	return openID
}

// recordPrefix is the key of the user's records without the template id.
func (s *Store) recordPrefix(openID string) string {
	return s.prefix + "grant:{" + hashTag(openID) + "}:"
}

func (s *Store) recordKey(openID, templateID string) string {
	return s.recordPrefix(openID) + templateID
}

func (s *Store) indexKey(openID string) string {
	return s.prefix + "grants:{" + hashTag(openID) + "}"
}

func (s *Store) tokenKey(key string) string  { return s.prefix + "token:" + key }
func (s *Store) leaseKey(key string) string  { return s.prefix + "lease:" + key }
func (s *Store) dedupeKey(key string) string { return s.prefix + "dedupe:" + key }

// millis rounds d up to whole milliseconds, so that a positive TTL never
// becomes zero.
func millis(d time.Duration) int64 {
	ms := int64(d / time.Millisecond)
	if d%time.Millisecond > 0 {
		ms++
	}
	return ms
}

// px returns d rounded up to a whole millisecond, the unit Redis keeps
// expiries in, for a go-redis expiration. A d in the last millisecond of
// Duration's range is rounded down instead, so that the result does not
// overflow into a negative duration, which go-redis would drop (no expiry
// at all) or Redis refuse.
func px(d time.Duration) time.Duration {
	const maxMillis = math.MaxInt64 / int64(time.Millisecond)
	return time.Duration(min(millis(d), maxMillis)) * time.Millisecond
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("wxsub/store/redis: %w: %s", store.ErrInvalidArgument, fmt.Sprintf(format, args...))
}

// ctxErr returns an error wrapping ctx.Err() when ctx is done.
func ctxErr(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("wxsub/store/redis: %w", err)
	}
	return nil
}

// wrap names the operation in a Redis error. When the context is done or
// its deadline has passed it wraps that too, so that errors.Is(err,
// context.DeadlineExceeded) holds whichever error go-redis reported.
func wrap(ctx context.Context, op string, err error) error {
	cerr := ctx.Err()
	if d, ok := ctx.Deadline(); ok && cerr == nil && !time.Now().Before(d) {
		// The socket deadline (the context's) fired a moment before the
		// context's own timer.
		cerr = context.DeadlineExceeded
	}
	if cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("wxsub/store/redis: %s: %w: %w", op, cerr, err)
	}
	return fmt.Errorf("wxsub/store/redis: %s: %w", op, err)
}
