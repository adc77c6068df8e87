package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/wxsub/wxsub/store"
)

// runReceipts checks store.ReceiptStore for stores that implement it.
func runReceipts(t *testing.T, newStore func(t *testing.T) store.GrantStore) {
	t.Helper()
	if _, ok := newStore(t).(store.ReceiptStore); !ok {
		t.Log("the store does not implement store.ReceiptStore: Receipt subtests skipped")
		return
	}
	tests := []struct {
		name string
		run  func(t *testing.T, s store.ReceiptStore)
	}{
		{"Receipt/ConsumeOnce", testConsumeOnce},
		{"Receipt/NoGrantNotRecorded", testConsumeOnceNoGrant},
		{"Receipt/KeyPerUser", testConsumeOnceKeyPerUser},
		{"Receipt/OtherTemplate", testConsumeOnceOtherTemplate},
		{"Receipt/SettleKept", testSettleKept},
		{"Receipt/SettleRefunded", testSettleRefunded},
		{"Receipt/SettleRevoked", testSettleRevoked},
		{"Receipt/RefundAfterRevoke", testSettleRefundAfterRevoke},
		{"Receipt/RefundAfterExpiry", testSettleRefundAfterExpiry},
		{"Receipt/RefundAfterDeleteUser", testSettleAfterDeleteUser},
		{"Receipt/LongTerm", testSettleLongTerm},
		{"Receipt/Lookup", testLookupReceipt},
		{"Receipt/OpExpiry", testReceiptOpExpiry},
		{"Receipt/InvalidArguments", testReceiptInvalid},
		{"Receipt/CancelledContext", testReceiptCancelledContext},
		{"Receipt/ConcurrentConsumeOnce", testConcurrentConsumeOnce},
		{"Receipt/ConcurrentWithConsume", testConcurrentConsumeOnceWithConsume},
		{"Receipt/ConcurrentRefund", testConcurrentSettleRefund},
		{"Receipt/ConcurrentSettleMix", testConcurrentSettleMix},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, newStore(t).(store.ReceiptStore)) })
	}
}

// receiptFixture is a grantFixture whose store is a ReceiptStore.
type receiptFixture struct {
	*grantFixture
	rs store.ReceiptStore
}

func newReceiptFixture(t *testing.T, s store.ReceiptStore) *receiptFixture {
	return &receiptFixture{grantFixture: newGrantFixture(t, s), rs: s}
}

// consumeOnce calls ConsumeOnce with a minute's operation TTL and checks
// the receipt's identity, kind and settlement.
func (f *receiptFixture) consumeOnce(key, tmpl string, kind store.GrantKind, settled store.Settlement) store.Receipt {
	f.t.Helper()
	r, got, err := f.rs.ConsumeOnce(f.ctx, key, time.Minute, f.user, tmpl)
	noErr(f.t, "ConsumeOnce("+key+", "+tmpl+")", err)
	f.wantReceipt("ConsumeOnce("+key+", "+tmpl+")", r, key, tmpl, kind)
	if got != settled {
		f.t.Fatalf("ConsumeOnce(%s, %s) settlement = %v, want %v", key, tmpl, got, settled)
	}
	return r
}

func (f *receiptFixture) wantReceipt(what string, r store.Receipt, key, tmpl string, kind store.GrantKind) {
	f.t.Helper()
	if r.OpenID != f.user || r.TemplateID != tmpl || r.Kind != kind || r.Generation == "" || r.Op != key {
		f.t.Fatalf("%s receipt = %+v, want OpenID %q, TemplateID %q, Kind %v, Op %q and a non-empty Generation",
			what, r, f.user, tmpl, kind, key)
	}
}

// noGrantOnce checks that ConsumeOnce fails with ErrNoGrant and a zero
// receipt.
func (f *receiptFixture) noGrantOnce(key, tmpl string) {
	f.t.Helper()
	r, st, err := f.rs.ConsumeOnce(f.ctx, key, time.Minute, f.user, tmpl)
	wantErrIs(f.t, "ConsumeOnce("+key+", "+tmpl+")", err, store.ErrNoGrant)
	if r != (store.Receipt{}) || st != store.Unsettled {
		f.t.Fatalf("ConsumeOnce(%s, %s) failed but returned %+v, %v; want a zero Receipt, unsettled", key, tmpl, r, st)
	}
}

// settle calls Settle and checks the settlement in force it returns.
func (f *receiptFixture) settle(r store.Receipt, how, want store.Settlement) {
	f.t.Helper()
	got, err := f.rs.Settle(f.ctx, r, how)
	noErr(f.t, "Settle("+r.Op+", "+how.String()+")", err)
	if got != want {
		f.t.Fatalf("Settle(%s, %v) = %v, want %v", r.Op, how, got, want)
	}
}

// settleGone checks that Settle finds no operation record.
func (f *receiptFixture) settleGone(r store.Receipt, how store.Settlement) {
	f.t.Helper()
	got, err := f.rs.Settle(f.ctx, r, how)
	wantErrIs(f.t, "Settle("+r.Op+", "+how.String()+") of a receipt whose operation record is gone", err, store.ErrNotFound)
	if got != store.Unsettled {
		f.t.Fatalf("Settle(%s, %v) failed but returned %v, want unsettled", r.Op, how, got)
	}
}

// lookup checks that LookupReceipt returns want and its settlement.
func (f *receiptFixture) lookup(key string, want store.Receipt, settled store.Settlement) {
	f.t.Helper()
	got, st, err := f.rs.LookupReceipt(f.ctx, f.user, key)
	noErr(f.t, "LookupReceipt("+key+")", err)
	if got != want || st != settled {
		f.t.Fatalf("LookupReceipt(%s) = %+v, %v; want %+v, %v", key, got, st, want, settled)
	}
}

// lookupGone checks that LookupReceipt finds nothing under key.
func (f *receiptFixture) lookupGone(user, key string) {
	f.t.Helper()
	r, st, err := f.rs.LookupReceipt(f.ctx, user, key)
	wantErrIs(f.t, "LookupReceipt("+key+")", err, store.ErrNotFound)
	if r != (store.Receipt{}) || st != store.Unsettled {
		f.t.Fatalf("LookupReceipt(%s) failed but returned %+v, %v; want a zero Receipt, unsettled", key, r, st)
	}
}

// eventually polls cond every 10 ms until it holds, failing the test when
// it still does not after wait: expiry tests wait for a store to notice
// a TTL ran out without betting on how late a loaded machine wakes up.
func eventually(t testing.TB, what string, wait time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: still not the case after %v", what, wait)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitGone waits until the user's record of tmpl has expired.
func (f *receiptFixture) waitGone(tmpl string) {
	f.t.Helper()
	eventually(f.t, "record "+tmpl+" expired", longTTL, func() bool { return f.get(tmpl) == store.Grant{} })
}

// waitOpGone waits until LookupReceipt no longer finds key.
func (f *receiptFixture) waitOpGone(key string) {
	f.t.Helper()
	eventually(f.t, "operation "+key+" expired", longTTL, func() bool {
		_, _, err := f.rs.LookupReceipt(f.ctx, f.user, key)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			f.t.Fatalf("LookupReceipt(%s): %v", key, err)
		}
		return err != nil
	})
}

func testConsumeOnce(t *testing.T, s store.ReceiptStore) {
	f := newReceiptFixture(t, s)
	f.add("t1", 2, 0, 2)
	r1 := f.consumeOnce("op-1", "t1", store.OneTime, store.Unsettled)
	f.want("t1", 1, false)
	for range 3 { // repeats return the recorded receipt and consume nothing
		if again := f.consumeOnce("op-1", "t1", store.OneTime, store.Unsettled); again != r1 {
			t.Fatalf("repeated ConsumeOnce returned %+v, want the recorded %+v", again, r1)
		}
		f.want("t1", 1, false)
	}
	r2 := f.consumeOnce("op-2", "t1", store.OneTime, store.Unsettled)
	if r2.Generation != r1.Generation {
		t.Fatalf("Generation changed within one record: %q then %q", r1.Generation, r2.Generation)
	}
	f.want("t1", 0, false)
	f.noGrantOnce("op-3", "t1")
	// Repeats of recorded keys still answer with nothing left to consume.
	if again := f.consumeOnce("op-2", "t1", store.OneTime, store.Unsettled); again != r2 {
		t.Fatalf("repeated ConsumeOnce returned %+v, want the recorded %+v", again, r2)
	}
	f.want("t1", 0, false)
	// ConsumeOnce takes the same grants Consume does.
	f.add("t1", 1, 0, 1)
	f.consume("t1", store.OneTime)
	f.noGrantOnce("op-4", "t1")
}

func testConsumeOnceNoGrant(t *testing.T, s store.ReceiptStore) {
	f := newReceiptFixture(t, s)
	f.noGrantOnce("op", "t1")
	f.lookupGone(f.user, "op")
	f.add("t1", 1, 0, 1)
	r := f.consumeOnce("op", "t1", store.OneTime, store.Unsettled)
	f.want("t1", 0, false)
	f.consumeOnce("op", "t1", store.OneTime, store.Unsettled)
	f.want("t1", 0, false)
	f.lookup("op", r, store.Unsettled)
}

func testConsumeOnceKeyPerUser(t *testing.T, s store.ReceiptStore) {
	a := newReceiptFixture(t, s)
	b := &receiptFixture{grantFixture: &grantFixture{t: t, ctx: a.ctx, s: s, user: unique("other")}, rs: s}
	a.add("t1", 1, 0, 1)
	b.add("t1", 1, 0, 1)
	ra := a.consumeOnce("same-key", "t1", store.OneTime, store.Unsettled)
	rb := b.consumeOnce("same-key", "t1", store.OneTime, store.Unsettled)
	a.want("t1", 0, false)
	b.want("t1", 0, false)
	a.lookup("same-key", ra, store.Unsettled)
	b.lookup("same-key", rb, store.Unsettled)
	// Settling one user's operation leaves the other's alone.
	a.settle(ra, store.Refunded, store.Refunded)
	a.want("t1", 1, false)
	b.want("t1", 0, false)
	b.lookup("same-key", rb, store.Unsettled)
}

func testConsumeOnceOtherTemplate(t *testing.T, s store.ReceiptStore) {
	f := newReceiptFixture(t, s)
	f.add("t1", 1, 0, 1)
	f.add("t2", 1, 0, 1)
	r := f.consumeOnce("op", "t1", store.OneTime, store.Unsettled)
	got, st, err := s.ConsumeOnce(f.ctx, "op", time.Minute, f.user, "t2")
	wantErrIs(t, "ConsumeOnce of a recorded operation key with another template", err, store.ErrInvalidArgument)
	if got != (store.Receipt{}) || st != store.Unsettled {
		t.Fatalf("ConsumeOnce with another template failed but returned %+v, %v", got, st)
	}
	f.want("t1", 0, false)
	f.want("t2", 1, false)
	f.lookup("op", r, store.Unsettled)
}

func testSettleKept(t *testing.T, s store.ReceiptStore) {
	f := newReceiptFixture(t, s)
	f.add("t1", 2, 0, 2)
	r := f.consumeOnce("op", "t1", store.OneTime, store.Unsettled)
	f.settle(r, store.Kept, store.Kept)
	f.want("t1", 1, false)
	// Later settlements return the first and change nothing.
	f.settle(r, store.Kept, store.Kept)
	f.settle(r, store.Refunded, store.Kept)
	f.want("t1", 1, false)
	f.settle(r, store.Revoked, store.Kept)
	f.want("t1", 1, false)
	f.lookup("op", r, store.Kept)
	// A repeated ConsumeOnce reports the settlement and consumes nothing.
	f.consumeOnce("op", "t1", store.OneTime, store.Kept)
	f.want("t1", 1, false)
}

func testSettleRefunded(t *testing.T, s store.ReceiptStore) {
	f := newReceiptFixture(t, s)
	f.add("t1", 2, 0, 2)
	r := f.consumeOnce("op", "t1", store.OneTime, store.Unsettled)
	f.want("t1", 1, false)
	f.settle(r, store.Refunded, store.Refunded)
	f.want("t1", 2, false)
	f.settle(r, store.Refunded, store.Refunded) // not a second grant back
	f.want("t1", 2, false)
	f.settle(r, store.Kept, store.Refunded)
	f.settle(r, store.Revoked, store.Refunded)
	f.want("t1", 2, false)
	f.lookup("op", r, store.Refunded)
	f.consumeOnce("op", "t1", store.OneTime, store.Refunded)
	f.want("t1", 2, false)
}

func testSettleRevoked(t *testing.T, s store.ReceiptStore) {
	f := newReceiptFixture(t, s)
	f.add("t1", 3, 0, 3)
	f.setLongTerm("t2", 0)
	r := f.consumeOnce("op", "t1", store.OneTime, store.Unsettled)
	f.want("t1", 2, false)
	f.settle(r, store.Revoked, store.Revoked)
	f.wantMissing("t1")
	f.noGrant("t1")
	f.want("t2", 0, true)
	// A later Refunded neither settles again nor brings the record back.
	f.settle(r, store.Refunded, store.Revoked)
	f.wantMissing("t1")
	f.lookup("op", r, store.Revoked)
	f.wantList(f.user, store.Grant{OpenID: f.user, TemplateID: "t2", LongTerm: true})
}

func testSettleRefundAfterRevoke(t *testing.T, s store.ReceiptStore) {
	f := newReceiptFixture(t, s)
	f.add("t1", 1, 0, 1)
	r := f.consumeOnce("op", "t1", store.OneTime, store.Unsettled)
	noErr(t, "Revoke", s.Revoke(f.ctx, f.user, "t1"))
	// The user granted again before the send failed: the refund must not
	// reach the new record.
	f.add("t1", 1, 0, 1)
	f.settle(r, store.Refunded, store.Refunded)
	f.want("t1", 1, false)
	f.lookup("op", r, store.Refunded)
	f.settle(r, store.Refunded, store.Refunded)
	f.want("t1", 1, false)

	// Without a new grant the refund finds no record at all.
	r2 := f.consumeOnce("op-2", "t1", store.OneTime, store.Unsettled)
	noErr(t, "Revoke", s.Revoke(f.ctx, f.user, "t1"))
	f.settle(r2, store.Refunded, store.Refunded)
	f.wantMissing("t1")
	f.noGrant("t1")
	f.wantList(f.user)
}

func testSettleRefundAfterExpiry(t *testing.T, s store.ReceiptStore) {
	f := newReceiptFixture(t, s)
	f.add("t1", 1, shortTTL, 1)
	r := f.consumeOnce("op", "t1", store.OneTime, store.Unsettled)
	f.waitGone("t1")
	f.add("t1", 1, 0, 1) // a new record the old receipt cannot touch
	f.settle(r, store.Refunded, store.Refunded)
	f.want("t1", 1, false)
	f.lookup("op", r, store.Refunded)
}

func testSettleAfterDeleteUser(t *testing.T, s store.ReceiptStore) {
	f := newReceiptFixture(t, s)
	other := &receiptFixture{grantFixture: &grantFixture{t: t, ctx: f.ctx, s: s, user: unique("other")}, rs: s}
	f.add("t1", 1, 0, 1)
	other.add("t1", 2, 0, 2)
	r := f.consumeOnce("op", "t1", store.OneTime, store.Unsettled)
	ro := other.consumeOnce("op", "t1", store.OneTime, store.Unsettled)
	noErr(t, "DeleteUser", s.DeleteUser(f.ctx, f.user))
	f.lookupGone(f.user, "op")
	// The user grants again; the receipt's operation record is gone, and
	// its refund must not reach the new record either way.
	f.add("t1", 1, 0, 1)
	f.settleGone(r, store.Refunded)
	f.want("t1", 1, false)
	// The key names a new operation now.
	r2 := f.consumeOnce("op", "t1", store.OneTime, store.Unsettled)
	f.want("t1", 0, false)
	f.settle(r2, store.Refunded, store.Refunded)
	f.want("t1", 1, false)
	// Another user's operations stay.
	other.lookup("op", ro, store.Unsettled)
	other.want("t1", 1, false)
}

func testSettleLongTerm(t *testing.T, s store.ReceiptStore) {
	f := newReceiptFixture(t, s)
	f.add("t1", 1, 0, 1)
	f.setLongTerm("t1", 0)
	r := f.consumeOnce("op-1", "t1", store.LongTerm, store.Unsettled)
	f.want("t1", 1, true)
	// Refunded changes no record, but is the settlement.
	f.settle(r, store.Refunded, store.Refunded)
	f.want("t1", 1, true)
	f.settle(r, store.Kept, store.Refunded)
	f.lookup("op-1", r, store.Refunded)
	k := f.consumeOnce("op-2", "t1", store.LongTerm, store.Unsettled)
	f.settle(k, store.Kept, store.Kept)
	f.want("t1", 1, true)
	v := f.consumeOnce("op-3", "t1", store.LongTerm, store.Unsettled)
	f.settle(v, store.Revoked, store.Revoked)
	f.wantMissing("t1")
	f.settle(v, store.Refunded, store.Revoked)
	f.wantMissing("t1")
}

func testLookupReceipt(t *testing.T, s store.ReceiptStore) {
	f := newReceiptFixture(t, s)
	f.lookupGone(f.user, "op")
	f.lookupGone(unique("nobody"), "op")
	f.add("t1", 1, 0, 1)
	r := f.consumeOnce("op", "t1", store.OneTime, store.Unsettled)
	f.lookup("op", r, store.Unsettled)
	f.lookupGone(f.user, "op-other")
	f.lookupGone(unique("nobody"), "op")
	f.settle(r, store.Kept, store.Kept)
	f.lookup("op", r, store.Kept)
	// A plain Consume records nothing.
	f.add("t1", 1, 0, 1)
	if c := f.consume("t1", store.OneTime); c.Op != "" {
		t.Fatalf("Consume returned a receipt with Op %q, want none", c.Op)
	}
}

func testReceiptOpExpiry(t *testing.T, s store.ReceiptStore) {
	f := newReceiptFixture(t, s)
	const opTTL = 100 * time.Millisecond
	f.add("t1", 4, 0, 4)
	f.add("t2", 1, 0, 1)
	r, _, err := s.ConsumeOnce(f.ctx, "op", opTTL, f.user, "t1")
	noErr(t, "ConsumeOnce", err)
	f.waitOpGone("op")
	f.settleGone(r, store.Refunded)
	f.want("t1", 3, false)
	// The key names a new operation now, which consumes again.
	r2, st, err := s.ConsumeOnce(f.ctx, "op", time.Minute, f.user, "t1")
	noErr(t, "ConsumeOnce after the operation expired", err)
	f.wantReceipt("ConsumeOnce after the operation expired", r2, "op", "t1", store.OneTime)
	if st != store.Unsettled {
		t.Fatalf("ConsumeOnce after the operation expired: settlement %v, want unsettled", st)
	}
	f.want("t1", 2, false)

	// A settled operation keeps the rest of its TTL: it expires too.
	k, _, err := s.ConsumeOnce(f.ctx, "op-kept", opTTL, f.user, "t1")
	noErr(t, "ConsumeOnce", err)
	f.settle(k, store.Kept, store.Kept)
	f.waitOpGone("op-kept")
	f.want("t1", 1, false)

	// An old receipt does not settle the operation that reused its key
	// after it expired, here for another template.
	old, _, err := s.ConsumeOnce(f.ctx, "op-reused", opTTL, f.user, "t1")
	noErr(t, "ConsumeOnce", err)
	f.waitOpGone("op-reused")
	cur := f.consumeOnce("op-reused", "t2", store.OneTime, store.Unsettled)
	f.settleGone(old, store.Revoked)
	f.want("t2", 0, false)
	f.lookup("op-reused", cur, store.Unsettled)
}

func testReceiptInvalid(t *testing.T, s store.ReceiptStore) {
	f := newReceiptFixture(t, s)
	u := f.user
	f.add("t1", 1, 0, 1)
	valid := f.consumeOnce("op", "t1", store.OneTime, store.Unsettled)
	withReceipt := func(edit func(*store.Receipt)) store.Receipt {
		r := valid
		edit(&r)
		return r
	}
	settle := func(r store.Receipt, how store.Settlement) func(ctx context.Context) error {
		return func(ctx context.Context) error { _, err := s.Settle(ctx, r, how); return err }
	}
	consumeOnce := func(key string, opTTL time.Duration, user, tmpl string) func(ctx context.Context) error {
		return func(ctx context.Context) error { _, _, err := s.ConsumeOnce(ctx, key, opTTL, user, tmpl); return err }
	}
	tests := []struct {
		name string
		call func(ctx context.Context) error
	}{
		{"ConsumeOnce empty key", consumeOnce("", time.Minute, u, "t1")},
		{"ConsumeOnce zero key ttl", consumeOnce("k", 0, u, "t1")},
		{"ConsumeOnce negative key ttl", consumeOnce("k", -time.Second, u, "t1")},
		{"ConsumeOnce empty openid", consumeOnce("k", time.Minute, "", "t1")},
		{"ConsumeOnce empty template", consumeOnce("k", time.Minute, u, "")},
		{"Settle unsettled", settle(valid, store.Unsettled)},
		{"Settle unknown settlement", settle(valid, store.Settlement(99))},
		{"Settle receipt without Op", settle(withReceipt(func(r *store.Receipt) { r.Op = "" }), store.Refunded)},
		{"Settle empty openid", settle(withReceipt(func(r *store.Receipt) { r.OpenID = "" }), store.Refunded)},
		{"Settle empty template", settle(withReceipt(func(r *store.Receipt) { r.TemplateID = "" }), store.Refunded)},
		{"Settle unknown kind", settle(withReceipt(func(r *store.Receipt) { r.Kind = 0 }), store.Refunded)},
		{"Settle zero receipt", settle(store.Receipt{}, store.Refunded)},
		{"LookupReceipt empty openid", func(ctx context.Context) error { _, _, err := s.LookupReceipt(ctx, "", "op"); return err }},
		{"LookupReceipt empty key", func(ctx context.Context) error { _, _, err := s.LookupReceipt(ctx, u, ""); return err }},
	}
	for _, tc := range tests {
		wantErrIs(t, tc.name, tc.call(f.ctx), store.ErrInvalidArgument)
	}
	// The rejected calls consumed, recorded and settled nothing.
	f.add("t1", 1, 0, 1)
	f.lookupGone(u, "k")
	f.lookup("op", valid, store.Unsettled)
}

func testReceiptCancelledContext(t *testing.T, s store.ReceiptStore) {
	f := newReceiptFixture(t, s)
	f.add("t1", 2, 0, 2)
	r := f.consumeOnce("op", "t1", store.OneTime, store.Unsettled)
	ctx := cancelledContext()
	_, _, err := s.ConsumeOnce(ctx, "op-new", time.Minute, f.user, "t1")
	wantErrIs(t, "ConsumeOnce", err, context.Canceled)
	_, err = s.Settle(ctx, r, store.Refunded)
	wantErrIs(t, "Settle", err, context.Canceled)
	_, _, err = s.LookupReceipt(ctx, f.user, "op")
	wantErrIs(t, "LookupReceipt", err, context.Canceled)
	f.want("t1", 1, false)
	f.lookup("op", r, store.Unsettled)
	f.lookupGone(f.user, "op-new")
}

// race runs n calls of call at once, after all have started, and returns
// their errors.
func race(n int, call func(i int) error) []error {
	var wg sync.WaitGroup
	start := make(chan struct{})
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = call(i)
		})
	}
	close(start)
	wg.Wait()
	return errs
}

// noErrs fails the test on the first non-nil error of errs.
func noErrs(t *testing.T, what string, errs []error) {
	t.Helper()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("%s: caller %d of %d: %v", what, i, len(errs), err)
		}
	}
}

// testConcurrentConsumeOnce races 200 callers over 50 operation keys on a
// record of 100 grants: each key consumes once, and all its callers get
// the one receipt.
func testConcurrentConsumeOnce(t *testing.T, s store.ReceiptStore) {
	const grants, callers, keys = 100, 200, 50
	f := newReceiptFixture(t, s)
	f.add("t1", grants, 0, grants)
	got := make([]store.Receipt, callers)
	settled := make([]store.Settlement, callers)
	errs := race(callers, func(i int) error {
		var err error
		got[i], settled[i], err = s.ConsumeOnce(f.ctx, fmt.Sprintf("op-%d", i%keys), time.Minute, f.user, "t1")
		return err
	})
	noErrs(t, "concurrent ConsumeOnce", errs)
	f.want("t1", grants-keys, false)
	for i := range callers {
		key := fmt.Sprintf("op-%d", i%keys)
		f.wantReceipt("ConsumeOnce("+key+")", got[i], key, "t1", store.OneTime)
		if got[i] != got[i%keys] || settled[i] != store.Unsettled {
			t.Fatalf("callers %d and %d of key %s got %+v, %v and %+v; want one receipt, unsettled",
				i%keys, i, key, got[i%keys], settled[i], got[i])
		}
	}
	for k := range keys {
		f.lookup(fmt.Sprintf("op-%d", k), got[k], store.Unsettled)
	}
}

// testConcurrentConsumeOnceWithConsume races ConsumeOnce with plain
// Consume over fewer grants than callers: together they take each grant
// once.
func testConcurrentConsumeOnceWithConsume(t *testing.T, s store.ReceiptStore) {
	const grants, callers = 100, 300
	f := newReceiptFixture(t, s)
	f.add("t1", grants, 0, grants)
	var mu sync.Mutex
	var took int
	errs := race(callers, func(i int) error {
		var err error
		if i%2 == 0 {
			_, err = s.Consume(f.ctx, f.user, "t1")
		} else {
			_, _, err = s.ConsumeOnce(f.ctx, fmt.Sprintf("op-%d", i), time.Minute, f.user, "t1")
		}
		if errors.Is(err, store.ErrNoGrant) {
			return nil
		}
		if err == nil {
			mu.Lock()
			took++
			mu.Unlock()
		}
		return err
	})
	noErrs(t, "concurrent Consume and ConsumeOnce", errs)
	if took != grants {
		t.Fatalf("%d concurrent Consume and ConsumeOnce calls on %d grants: %d succeeded, want %d", callers, grants, took, grants)
	}
	f.want("t1", 0, false)
}

// testConcurrentSettleRefund races 200 Settle(Refunded) of one receipt:
// exactly one grant comes back.
func testConcurrentSettleRefund(t *testing.T, s store.ReceiptStore) {
	const callers = 200
	f := newReceiptFixture(t, s)
	f.add("t1", 5, 0, 5)
	r := f.consumeOnce("op", "t1", store.OneTime, store.Unsettled)
	got := make([]store.Settlement, callers)
	errs := race(callers, func(i int) error {
		var err error
		got[i], err = s.Settle(f.ctx, r, store.Refunded)
		return err
	})
	noErrs(t, "concurrent Settle", errs)
	for i, st := range got {
		if st != store.Refunded {
			t.Fatalf("caller %d: Settle(Refunded) = %v, want refunded", i, st)
		}
	}
	f.want("t1", 5, false)
	f.lookup("op", r, store.Refunded)
}

// testConcurrentSettleMix races Settle(Kept) with Settle(Refunded) on one
// receipt per round: every caller sees the one settlement that won, and
// the record shows it.
func testConcurrentSettleMix(t *testing.T, s store.ReceiptStore) {
	const rounds, callers, grants = 6, 100, 10
	f := newReceiptFixture(t, s)
	f.add("t1", grants, 0, grants)
	left := int64(grants)
	seen := map[store.Settlement]int{}
	for round := range rounds {
		key := fmt.Sprintf("op-%d", round)
		r := f.consumeOnce(key, "t1", store.OneTime, store.Unsettled)
		left--
		got := make([]store.Settlement, callers)
		errs := race(callers, func(i int) error {
			how := store.Kept
			if (i+round)%2 == 1 {
				how = store.Refunded
			}
			var err error
			got[i], err = s.Settle(f.ctx, r, how)
			return err
		})
		noErrs(t, "concurrent Settle", errs)
		won := got[0]
		if won != store.Kept && won != store.Refunded {
			t.Fatalf("round %d: Settle returned %v", round, won)
		}
		for i, st := range got {
			if st != won {
				t.Fatalf("round %d: caller 0 saw %v, caller %d saw %v; want one settlement for all", round, won, i, st)
			}
		}
		if won == store.Refunded {
			left++
		}
		seen[won]++
		f.want("t1", left, false)
		f.lookup(key, r, won)
	}
	t.Logf("settlements that won the races: %v", seen)
}
