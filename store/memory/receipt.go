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
	// cacheUntil is when the cache entry expires: no earlier than the last
	// of ops, so that go-cache's janitor drops the user only once every
	// operation expired. An operation that outlives it moves it to one
	// operation TTL beyond that operation, so that a busy user's entry is
	// stored again about once per TTL rather than once per operation.
	cacheUntil time.Time
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

// userOps returns the user's operations, or nil. The caller holds s.mu.
func (s *Store) userOps(openID string) *userOps {
	if v, ok := s.receipts.Get(openID); ok {
		return v.(*userOps)
	}
	return nil
}

// live returns the unexpired record of opKey, or nil; u may be nil.
func (u *userOps) live(opKey string, now time.Time) *opRecord {
	if u == nil {
		return nil
	}
	op := u.ops[opKey]
	if op == nil || expired(op.expiresAt, now) {
		return nil
	}
	return op
}

// recordOp stores op, which expires opTTL after now, under (openID, opKey)
// in u, the user's operations (nil: none yet). The caller holds s.mu for
// writing and has checked that no live record of opKey exists.
func (s *Store) recordOp(openID string, u *userOps, opKey string, op *opRecord, opTTL time.Duration, now time.Time) {
	if u == nil {
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
	if len(u.ops) == 1 || op.expiresAt.After(u.cacheUntil) {
		// New, or possibly one that go-cache let expire: store it (again).
		u.cacheUntil = op.expiresAt.Add(opTTL)
		s.receipts.Set(openID, u, cacheTTL(u.cacheUntil.Sub(now)))
	}
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
	u := s.userOps(openID)
	if op := u.live(opKey, now); op != nil {
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
	s.recordOp(openID, u, opKey, &opRecord{receipt: rc, expiresAt: now.Add(opTTL)}, opTTL, now)
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
	op := s.userOps(rc.OpenID).live(rc.Op, time.Now())
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
	op := s.userOps(openID).live(opKey, time.Now())
	if op == nil {
		return store.Receipt{}, store.Unsettled, fmt.Errorf("wxsub/store/memory: receipt of operation %q of user %q: %w", opKey, openID, store.ErrNotFound)
	}
	return op.receipt, op.settled, nil
}
