package redis

import (
	"context"
	"time"

	"github.com/wxsub/wxsub/store"
)

var _ store.OnceGrantStore = (*Store)(nil)

// opKey is where ApplyOnce records an operation key: in the user's hash
// slot, next to the records it guards.
func (s *Store) opKey(openID, key string) string {
	return s.prefix + "op:{" + hashTag(openID) + "}:" + key
}

// ApplyOnce makes a grant change once per operation key, in one Lua
// script; see store.OnceGrantStore.
func (s *Store) ApplyOnce(ctx context.Context, opKey string, opTTL time.Duration, openID, templateID string, change store.GrantChange, ttl time.Duration) (bool, error) {
	if err := ctxErr(ctx); err != nil {
		return false, err
	}
	if err := store.CheckApplyOnce(opKey, opTTL, openID, templateID, change, ttl); err != nil {
		return false, err
	}
	keys := []string{s.recordKey(openID, templateID), s.indexKey(openID), s.opKey(openID, opKey)}
	var reply any
	var err error
	switch change {
	case store.AddOneTimeGrant:
		reply, err = s.scripts.addOnce.Run(ctx, s.c, keys, millis(ttl), newGeneration(), templateID, 1, millis(opTTL)).Result()
	case store.SetLongTermGrant:
		reply, err = s.scripts.setLongTermOnce.Run(ctx, s.c, keys, millis(ttl), newGeneration(), templateID, millis(opTTL)).Result()
	case store.RevokeGrant:
		reply, err = s.scripts.revokeOnce.Run(ctx, s.c, keys, templateID, s.recordPrefix(openID), millis(opTTL)).Result()
	default:
		return false, invalid("grant change %d", change)
	}
	if err != nil {
		return false, wrap(ctx, "apply grant change once", err)
	}
	switch reply {
	case "dup":
		return false, nil
	case int64(-1):
		return false, invalid("adding a grant would overflow the count")
	}
	return true, nil
}
