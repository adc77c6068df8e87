package memory

import (
	"context"
	"time"

	"github.com/wxsub/wxsub/store"
)

// Begin claims key for lease if nobody holds it; see store.DedupeStore.
func (s *Store) Begin(ctx context.Context, key string, lease time.Duration) (store.DedupeState, error) {
	if err := ctxErr(ctx); err != nil {
		return 0, err
	}
	if key == "" {
		return 0, invalid("empty dedupe key")
	}
	if lease <= 0 {
		return 0, invalid("lease %v, want a positive duration", lease)
	}
	s.dedupeMu.Lock()
	defer s.dedupeMu.Unlock()
	if v, ok := s.dedupe.Get(key); ok {
		return v.(store.DedupeState), nil
	}
	s.dedupe.Set(key, store.DedupeInFlight, cacheTTL(lease))
	return store.DedupeNew, nil
}

// Done marks key as handled for ttl.
func (s *Store) Done(ctx context.Context, key string, ttl time.Duration) error {
	if err := ctxErr(ctx); err != nil {
		return err
	}
	if key == "" {
		return invalid("empty dedupe key")
	}
	if ttl <= 0 {
		return invalid("ttl %v, want a positive duration", ttl)
	}
	s.dedupeMu.Lock()
	defer s.dedupeMu.Unlock()
	s.dedupe.Set(key, store.DedupeDone, cacheTTL(ttl))
	return nil
}

// Abort drops an in-flight claim on key; a key already done stays done.
func (s *Store) Abort(ctx context.Context, key string) error {
	if err := ctxErr(ctx); err != nil {
		return err
	}
	if key == "" {
		return invalid("empty dedupe key")
	}
	s.dedupeMu.Lock()
	defer s.dedupeMu.Unlock()
	if v, ok := s.dedupe.Get(key); ok && v.(store.DedupeState) == store.DedupeInFlight {
		s.dedupe.Delete(key)
	}
	return nil
}
