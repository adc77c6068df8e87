package redis

import (
	"context"
	"fmt"
	"time"

	"github.com/wxsub/wxsub/store"
)

var _ store.ReceiptStore = (*Store)(nil)

// receiptPrefix is the key of the user's operation records without the
// operation key: in the user's hash slot, next to the records.
func (s *Store) receiptPrefix(openID string) string {
	return s.prefix + "receipt:{" + hashTag(openID) + "}:"
}

func (s *Store) receiptKey(openID, opKey string) string {
	return s.receiptPrefix(openID) + opKey
}

// receiptIndexKey is the user's sorted set of operation keys, for
// DeleteUser.
func (s *Store) receiptIndexKey(openID string) string {
	return s.prefix + "receipts:{" + hashTag(openID) + "}"
}

// ConsumeOnce takes one grant once per operation key, in one Lua script;
// see store.ReceiptStore.
func (s *Store) ConsumeOnce(ctx context.Context, opKey string, opTTL time.Duration, openID, templateID string) (store.Receipt, store.Settlement, error) {
	if err := ctxErr(ctx); err != nil {
		return store.Receipt{}, store.Unsettled, err
	}
	if err := store.CheckConsumeOnce(opKey, opTTL, openID, templateID); err != nil {
		return store.Receipt{}, store.Unsettled, err
	}
	keys := []string{s.recordKey(openID, templateID), s.receiptKey(openID, opKey), s.receiptIndexKey(openID)}
	v, err := s.scripts.consumeOnce.Run(ctx, s.c, keys, templateID, millis(opTTL), opKey).Text()
	if err != nil {
		return store.Receipt{}, store.Unsettled, wrap(ctx, "consume grant once", err)
	}
	switch {
	case v == "":
		return store.Receipt{}, store.Unsettled, store.ErrNoGrant
	case v[0] == 'x':
		return store.Receipt{}, store.Unsettled, invalid("operation key %q of user %q consumed a grant of template %q, not %q",
			opKey, openID, v[1:], templateID)
	}
	r := store.Receipt{OpenID: openID, TemplateID: templateID, Op: opKey}
	var settled store.Settlement
	if len(v) >= 3 {
		r.Kind, settled, r.Generation = store.GrantKind(v[0]-'0'), store.Settlement(v[1]-'0'), v[2:]
	}
	if (r.Kind != store.OneTime && r.Kind != store.LongTerm) || settled > store.Revoked || r.Generation == "" {
		return store.Receipt{}, store.Unsettled, fmt.Errorf("%w: ConsumeOnce reply %q", errCorrupt, v)
	}
	return r, settled, nil
}

// Settle keeps, refunds or revokes a receipt of ConsumeOnce once, in one
// Lua script; see store.ReceiptStore. A receipt that is not the one
// recorded under its operation key (the key expired and was used again)
// finds no record of its own: ErrNotFound.
func (s *Store) Settle(ctx context.Context, r store.Receipt, how store.Settlement) (store.Settlement, error) {
	if err := ctxErr(ctx); err != nil {
		return store.Unsettled, err
	}
	if err := store.CheckSettle(r, how); err != nil {
		return store.Unsettled, err
	}
	keys := []string{s.recordKey(r.OpenID, r.TemplateID), s.indexKey(r.OpenID), s.receiptKey(r.OpenID, r.Op)}
	args := []any{r.TemplateID, s.recordPrefix(r.OpenID), int(r.Kind), r.Generation, int(how)}
	v, err := s.scripts.settle.Run(ctx, s.c, keys, args...).Text()
	if err != nil {
		return store.Unsettled, wrap(ctx, "settle receipt", err)
	}
	if v == "" {
		return store.Unsettled, fmt.Errorf("wxsub/store/redis: settle operation %q of user %q: %w", r.Op, r.OpenID, store.ErrNotFound)
	}
	if settled, ok := parseSettled(v); ok {
		return settled, nil
	}
	return store.Unsettled, fmt.Errorf("%w: Settle reply %q", errCorrupt, v)
}

// parseSettled reads a settled state ("1" to "3") of an operation record.
func parseSettled(v string) (store.Settlement, bool) {
	if len(v) != 1 || v[0] < '1' || v[0] > '3' {
		return store.Unsettled, false
	}
	return store.Settlement(v[0] - '0'), true
}

// LookupReceipt returns the receipt recorded under (openID, opKey) and its
// settlement, with one HMGET; see store.ReceiptStore.
func (s *Store) LookupReceipt(ctx context.Context, openID, opKey string) (store.Receipt, store.Settlement, error) {
	if err := ctxErr(ctx); err != nil {
		return store.Receipt{}, store.Unsettled, err
	}
	if err := store.CheckLookupReceipt(openID, opKey); err != nil {
		return store.Receipt{}, store.Unsettled, err
	}
	v, err := s.c.HMGet(ctx, s.receiptKey(openID, opKey), "t", "k", "s", "g").Result()
	if err != nil {
		return store.Receipt{}, store.Unsettled, wrap(ctx, "look up receipt", err)
	}
	if len(v) == 4 && v[0] == nil && v[1] == nil && v[2] == nil && v[3] == nil {
		return store.Receipt{}, store.Unsettled, fmt.Errorf("wxsub/store/redis: receipt of operation %q of user %q: %w", opKey, openID, store.ErrNotFound)
	}
	var f [4]string
	ok := len(v) == 4
	for i := 0; ok && i < 4; i++ {
		f[i], ok = v[i].(string)
	}
	r := store.Receipt{OpenID: openID, TemplateID: f[0], Generation: f[3], Op: opKey}
	settled := store.Unsettled
	if ok && len(f[1]) == 1 && len(f[2]) == 1 {
		r.Kind = store.GrantKind(f[1][0] - '0')
		if f[2] != "0" {
			settled, ok = parseSettled(f[2])
		}
	}
	if !ok || r.TemplateID == "" || (r.Kind != store.OneTime && r.Kind != store.LongTerm) || r.Generation == "" {
		return store.Receipt{}, store.Unsettled, fmt.Errorf("%w: operation record %v", errCorrupt, v)
	}
	return r, settled, nil
}
