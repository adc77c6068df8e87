package redis

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strconv"
	"time"

	"github.com/wxsub/wxsub/store"
)

// newGeneration returns a random id for a record the script may create.
func newGeneration() string {
	var b [12]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never returns an error
	return hex.EncodeToString(b[:])
}

// AddOneTime adds n one-time grants; see store.GrantStore.
func (s *Store) AddOneTime(ctx context.Context, openID, templateID string, n int64, ttl time.Duration) (int64, error) {
	if err := ctxErr(ctx); err != nil {
		return 0, err
	}
	if err := store.CheckAddOneTime(openID, templateID, n, ttl); err != nil {
		return 0, err
	}
	keys := []string{s.recordKey(openID, templateID), s.indexKey(openID)}
	v, err := s.scripts.addOneTime.Run(ctx, s.c, keys, millis(ttl), newGeneration(), templateID, n).Result()
	if err != nil {
		return 0, wrap(ctx, "add one-time grants", err)
	}
	switch v := v.(type) {
	case int64:
		if v == -1 {
			return 0, invalid("adding %d grants would overflow the count", n)
		}
	case string:
		total, err := strconv.ParseInt(v, 10, 64)
		if err == nil {
			return total, nil
		}
	}
	return 0, fmt.Errorf("%w: AddOneTime reply %v", errCorrupt, v)
}

// SetLongTerm records a long-term grant; see store.GrantStore.
func (s *Store) SetLongTerm(ctx context.Context, openID, templateID string, ttl time.Duration) error {
	if err := ctxErr(ctx); err != nil {
		return err
	}
	if err := store.CheckSetLongTerm(openID, templateID, ttl); err != nil {
		return err
	}
	keys := []string{s.recordKey(openID, templateID), s.indexKey(openID)}
	if err := s.scripts.setLongTerm.Run(ctx, s.c, keys, millis(ttl), newGeneration(), templateID).Err(); err != nil {
		return wrap(ctx, "set long-term grant", err)
	}
	return nil
}

// Consume takes one grant, preferring a long-term one; see store.GrantStore.
func (s *Store) Consume(ctx context.Context, openID, templateID string) (store.Receipt, error) {
	if err := ctxErr(ctx); err != nil {
		return store.Receipt{}, err
	}
	if err := store.CheckIDs(openID, templateID); err != nil {
		return store.Receipt{}, err
	}
	v, err := s.scripts.consume.Run(ctx, s.c, []string{s.recordKey(openID, templateID)}).Text()
	if err != nil {
		return store.Receipt{}, wrap(ctx, "consume grant", err)
	}
	if v == "" {
		return store.Receipt{}, store.ErrNoGrant
	}
	kind, gen := store.GrantKind(v[0]-'0'), v[1:]
	if (kind != store.OneTime && kind != store.LongTerm) || gen == "" {
		return store.Receipt{}, fmt.Errorf("%w: Consume reply %q", errCorrupt, v)
	}
	return store.Receipt{OpenID: openID, TemplateID: templateID, Kind: kind, Generation: gen}, nil
}

// Refund gives back a one-time grant taken from the same, still existing
// record; see store.GrantStore.
func (s *Store) Refund(ctx context.Context, r store.Receipt) error {
	if err := ctxErr(ctx); err != nil {
		return err
	}
	if err := store.CheckReceipt(r); err != nil {
		return err
	}
	if r.Kind == store.LongTerm {
		return nil
	}
	if r.Generation == "" {
		return nil // no record ever had an empty generation
	}
	keys := []string{s.recordKey(r.OpenID, r.TemplateID)}
	if err := s.scripts.refund.Run(ctx, s.c, keys, r.Generation).Err(); err != nil {
		return wrap(ctx, "refund grant", err)
	}
	return nil
}

// Revoke removes the user's record for the template; see store.GrantStore.
func (s *Store) Revoke(ctx context.Context, openID, templateID string) error {
	if err := ctxErr(ctx); err != nil {
		return err
	}
	if err := store.CheckIDs(openID, templateID); err != nil {
		return err
	}
	keys := []string{s.recordKey(openID, templateID), s.indexKey(openID)}
	if err := s.scripts.revoke.Run(ctx, s.c, keys, templateID, s.recordPrefix(openID)).Err(); err != nil {
		return wrap(ctx, "revoke grant", err)
	}
	return nil
}

// Get returns the user's grant for the template, or a zero Grant when
// there is none; see store.GrantStore.
func (s *Store) Get(ctx context.Context, openID, templateID string) (store.Grant, error) {
	if err := ctxErr(ctx); err != nil {
		return store.Grant{}, err
	}
	if err := store.CheckIDs(openID, templateID); err != nil {
		return store.Grant{}, err
	}
	v, err := s.scripts.get.Run(ctx, s.c, []string{s.recordKey(openID, templateID)}).Result()
	if err != nil {
		return store.Grant{}, wrap(ctx, "get grant", err)
	}
	now := time.Now()
	if n, ok := v.(int64); ok && n == 0 {
		return store.Grant{}, nil
	}
	if r, ok := v.([]any); ok && len(r) == 3 {
		n, ok1 := r[0].(string)
		lt, ok2 := r[1].(string)
		pttl, ok3 := r[2].(int64)
		if ok1 && ok2 && ok3 {
			return decodeRecord(openID, templateID, n, lt, pttl, now)
		}
	}
	return store.Grant{}, fmt.Errorf("%w: Get reply %v", errCorrupt, v)
}

// List returns the user's unexpired records in no particular order; see
// store.GrantStore.
func (s *Store) List(ctx context.Context, openID string) ([]store.Grant, error) {
	if err := ctxErr(ctx); err != nil {
		return nil, err
	}
	if err := store.CheckOpenID(openID); err != nil {
		return nil, err
	}
	v, err := s.scripts.list.Run(ctx, s.c, []string{s.indexKey(openID)}, s.recordPrefix(openID)).Result()
	if err != nil {
		return nil, wrap(ctx, "list grants", err)
	}
	return decodeList(openID, v, time.Now())
}

// DeleteUser removes every record of the user and the records of its
// ConsumeOnce operations; see store.GrantStore. (ApplyOnce's operation keys
// stay until their TTL runs out.)
func (s *Store) DeleteUser(ctx context.Context, openID string) error {
	if err := ctxErr(ctx); err != nil {
		return err
	}
	if err := store.CheckOpenID(openID); err != nil {
		return err
	}
	keys := []string{s.indexKey(openID), s.receiptIndexKey(openID)}
	err := s.scripts.deleteUser.Run(ctx, s.c, keys, s.recordPrefix(openID), s.receiptPrefix(openID)).Err()
	if err != nil {
		return wrap(ctx, "delete user", err)
	}
	return nil
}
