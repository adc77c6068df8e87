package memory

import (
	"context"
	"time"

	"github.com/wxsub/wxsub/store"
)

var _ store.OnceGrantStore = (*Store)(nil)

// ApplyOnce makes a grant change once per operation key; see
// store.OnceGrantStore. The key check, the change and the key's record all
// happen under the store's write lock.
func (s *Store) ApplyOnce(ctx context.Context, opKey string, opTTL time.Duration, openID, templateID string, change store.GrantChange, ttl time.Duration) (bool, error) {
	if err := ctxErr(ctx); err != nil {
		return false, err
	}
	if err := store.CheckApplyOnce(opKey, opTTL, openID, templateID, change, ttl); err != nil {
		return false, err
	}
	var apply func(*record) error
	switch change {
	case store.AddOneTimeGrant:
		apply = addOne
	case store.SetLongTermGrant:
		apply = setLongTerm
	case store.RevokeGrant:
	default:
		return false, invalid("grant change %d", change)
	}
	key := openID + "\x00" + opKey
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, done := s.ops.Get(key); done {
		return false, nil
	}
	if apply == nil {
		s.revokeLocked(openID, templateID)
	} else if err := s.updateLocked(openID, templateID, ttl, apply); err != nil {
		return false, err
	}
	s.ops.Set(key, struct{}{}, cacheTTL(opTTL))
	return true, nil
}
