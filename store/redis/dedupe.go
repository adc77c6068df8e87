package redis

import (
	"context"
	"fmt"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/wxsub/wxsub/store"
)

// Values of a dedupe key.
const (
	dedupeInFlight = "inflight"
	dedupeDone     = "done"
)

// Begin claims key for lease if nobody holds it; see store.DedupeStore.
func (s *Store) Begin(ctx context.Context, key string, lease time.Duration) (store.DedupeState, error) {
	return s.dedupeScript(ctx, "begin", s.scripts.begin, key, lease)
}

// Extend lengthens an in-flight claim on key; see store.DedupeExtender.
func (s *Store) Extend(ctx context.Context, key string, lease time.Duration) (store.DedupeState, error) {
	return s.dedupeScript(ctx, "extend", s.scripts.extend, key, lease)
}

// dedupeScript runs a script that takes a dedupe key and a lease and
// answers a store.DedupeState.
func (s *Store) dedupeScript(ctx context.Context, op string, script *goredis.Script, key string, lease time.Duration) (store.DedupeState, error) {
	if err := ctxErr(ctx); err != nil {
		return 0, err
	}
	if err := store.CheckKeyTTL("dedupe", key, lease); err != nil {
		return 0, err
	}
	n, err := script.Run(ctx, s.c, []string{s.dedupeKey(key)}, millis(lease)).Int64()
	if err != nil {
		return 0, wrap(ctx, op, err)
	}
	switch st := store.DedupeState(n); st {
	case store.DedupeNew, store.DedupeInFlight, store.DedupeDone:
		return st, nil
	}
	return 0, fmt.Errorf("%w: %s reply %d", errCorrupt, op, n)
}

// Done marks key as handled for ttl.
func (s *Store) Done(ctx context.Context, key string, ttl time.Duration) error {
	if err := ctxErr(ctx); err != nil {
		return err
	}
	if err := store.CheckKeyTTL("dedupe", key, ttl); err != nil {
		return err
	}
	err := s.c.Set(ctx, s.dedupeKey(key), dedupeDone, px(ttl)).Err()
	if err != nil {
		return wrap(ctx, "done", err)
	}
	return nil
}

// Abort drops an in-flight claim on key; a key already done stays done.
func (s *Store) Abort(ctx context.Context, key string) error {
	if err := ctxErr(ctx); err != nil {
		return err
	}
	if err := store.CheckKey("dedupe", key); err != nil {
		return err
	}
	if err := s.scripts.deleteIfEqual.Run(ctx, s.c, []string{s.dedupeKey(key)}, dedupeInFlight).Err(); err != nil {
		return wrap(ctx, "abort", err)
	}
	return nil
}
