package memory

import (
	"context"
	"fmt"
	"time"

	"github.com/wxsub/wxsub/store"
)

var _ store.ReceiptStore = (*Store)(nil)

// userOps holds one user's ConsumeOnce operations by operation key. It
// lives in Store.receipts under the openid, so that DeleteUser drops it
// in one step, and changes only with Store.mu held for writing.
type userOps struct {
	ops map[string]*opRecord
	// until is when the last of ops expires: the cache entry's expiry, so
	// that go-cache's janitor drops the user once every operation expired.
	until time.Time
	// pruneAt is the size at which the next insert first drops the
	// expired operations, doubling with what remains: each operation is
	// swept O(1) times on average, however many a user has.
	pruneAt int
}

// minPruneAt is the smallest map that is swept for expired operations.
const minPruneAt = 8

// opRecord is the receipt ConsumeOnce recorded for one operation key and
// what became of it.
type opRecord struct {
	receipt   store.Receipt
	settled   store.Settlement
	expiresAt time.Time // never zero: an operation key always has a TTL
}

// op returns the unexpired operation record of (openID, opKey), or nil.
// The caller holds s.mu.
func (s *Store) op(openID, opKey string, now time.Time) *opRecord {
	v, ok := s.receipts.Get(openID)
	if !ok {
		return nil
	}
	op := v.(*userOps).ops[opKey]
	if op == nil || expired(op.expiresAt, now) {
		return nil
	}
	return op
}

// recordOp stores op under (openID, opKey). The caller holds s.mu for
// writing and has checked that no live record of opKey exists.
func (s *Store) recordOp(openID, opKey string, op *opRecord, now time.Time) {
	var u *userOps
	if v, ok := s.receipts.Get(openID); ok {
		u = v.(*userOps)
	} else {
		u = &userOps{ops: make(map[string]*opRecord, 1), pruneAt: minPruneAt}
	}
	if len(u.ops) >= u.pruneAt {
		for k, o := range u.ops {
			if expired(o.expiresAt, now) {
				delete(u.ops, k)
			}
		}
		u.pruneAt = max(minPruneAt, 2*len(u.ops))
	}
	u.ops[opKey] = op
	if op.expiresAt.After(u.until) {
		u.until = op.expiresAt
	}
	// Set even when until did not move: the entry may be new, or one that
	// go-cache had already let expire.
	s.receipts.Set(openID, u, cacheTTL(u.until.Sub(now)))
}

// ConsumeOnce takes one grant once per operation key; see
// store.ReceiptStore. The key check, the consume and the key's record are
// one step under the store's write lock.
func (s *Store) ConsumeOnce(ctx context.Context, opKey string, opTTL time.Duration, openID, templateID string) (store.Receipt, store.Settlement, error) {
	if err := ctxErr(ctx); err != nil {
		return store.Receipt{}, store.Unsettled, err
	}
	if err := store.CheckConsumeOnce(opKey, opTTL, openID, templateID); err != nil {
		return store.Receipt{}, store.Unsettled, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	if op := s.op(openID, opKey, now); op != nil {
		if op.receipt.TemplateID != templateID {
			return store.Receipt{}, store.Unsettled, invalid("operation key %q of user %q consumed a grant of template %q, not %q",
				opKey, openID, op.receipt.TemplateID, templateID)
		}
		return op.receipt, op.settled, nil
	}
	rc, err := s.take(openID, templateID)
	if err != nil {
		return store.Receipt{}, store.Unsettled, err // ErrNoGrant, not recorded
	}
	rc.Op = opKey
	s.recordOp(openID, opKey, &opRecord{receipt: rc, expiresAt: now.Add(opTTL)}, now)
	return rc, store.Unsettled, nil
}

// Settle keeps, refunds or revokes a receipt of ConsumeOnce once; see
// store.ReceiptStore. Checking and marking the operation record and the
// refund or revoke are one step under the store's write lock. A receipt
// that is not the one recorded under its operation key (the key expired
// and was used again) finds no record of its own: ErrNotFound.
func (s *Store) Settle(ctx context.Context, rc store.Receipt, how store.Settlement) (store.Settlement, error) {
	if err := ctxErr(ctx); err != nil {
		return store.Unsettled, err
	}
	if err := store.CheckSettle(rc, how); err != nil {
		return store.Unsettled, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	op := s.op(rc.OpenID, rc.Op, time.Now())
	if op == nil || op.receipt != rc {
		return store.Unsettled, fmt.Errorf("wxsub/store/memory: settle operation %q of user %q: %w", rc.Op, rc.OpenID, store.ErrNotFound)
	}
	if op.settled != store.Unsettled {
		return op.settled, nil
	}
	switch how {
	case store.Refunded:
		s.giveBack(rc) // Refund's rule: a long-term receipt changes nothing
	case store.Revoked:
		s.revokeLocked(rc.OpenID, rc.TemplateID)
	}
	op.settled = how
	return how, nil
}

// LookupReceipt returns the receipt recorded under (openID, opKey) and its
// settlement; see store.ReceiptStore.
func (s *Store) LookupReceipt(ctx context.Context, openID, opKey string) (store.Receipt, store.Settlement, error) {
	if err := ctxErr(ctx); err != nil {
		return store.Receipt{}, store.Unsettled, err
	}
	if err := store.CheckLookupReceipt(openID, opKey); err != nil {
		return store.Receipt{}, store.Unsettled, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	op := s.op(openID, opKey, time.Now())
	if op == nil {
		return store.Receipt{}, store.Unsettled, fmt.Errorf("wxsub/store/memory: receipt of operation %q of user %q: %w", opKey, openID, store.ErrNotFound)
	}
	return op.receipt, op.settled, nil
}
