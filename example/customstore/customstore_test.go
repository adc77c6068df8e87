package customstore_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/wxsub/wxsub/example/customstore"
	"github.com/wxsub/wxsub/store"
	"github.com/wxsub/wxsub/store/memory"
	"github.com/wxsub/wxsub/store/storetest"
)

// The decorated store must still be a store: the same conformance suite the
// built-in stores pass.
func TestAuditedPassesTheConformanceSuite(t *testing.T) {
	storetest.RunGrantStore(t, func(t *testing.T) store.GrantStore {
		return customstore.Audited{Next: memory.New(), Report: func(context.Context, customstore.Change) {}}
	})
}

func TestAuditedReportsEveryChange(t *testing.T) {
	var mu sync.Mutex
	var got []string
	s := customstore.Audited{Next: memory.New(), Report: func(_ context.Context, c customstore.Change) {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, fmt.Sprintf("%s %s %s %v", c.Op, c.OpenID, c.TemplateID, c.Err != nil))
	}}
	ctx := context.Background()
	if _, err := s.AddOneTime(ctx, "u", "T", 1, 0); err != nil {
		t.Fatal(err)
	}
	r, err := s.Consume(ctx, "u", "T")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Refund(ctx, r); err != nil {
		t.Fatal(err)
	}
	if err := s.Revoke(ctx, "u", "T"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Consume(ctx, "u", "T"); !errors.Is(err, store.ErrNoGrant) {
		t.Fatalf("consume after revoke: %v", err)
	}
	want := []string{"add u T false", "consume u T false", "refund u T false", "revoke u T false", "consume u T true"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("reported %q, want %q", got, want)
	}
}

// Audit keeps the wrapped store's ApplyOnce, and the conformance suite runs
// its ApplyOnce subtests (and, memory.Store being a ReceiptStore too, its
// Receipt subtests) through the decorator.
func TestAuditKeepsApplyOnce(t *testing.T) {
	storetest.RunGrantStore(t, func(t *testing.T) store.GrantStore {
		return customstore.Audit(memory.New(), func(context.Context, customstore.Change) {})
	})
	var got []string
	s := customstore.Audit(memory.New(), func(_ context.Context, c customstore.Change) {
		got = append(got, c.Op+" "+c.TemplateID)
	})
	once, ok := s.(store.OnceGrantStore)
	if !ok {
		t.Fatalf("Audit(memory.New()) is a %T, which hides ApplyOnce", s)
	}
	ctx := context.Background()
	for range 2 { // the second call repeats the operation key: no change, no report
		if _, err := once.ApplyOnce(ctx, "push-1", time.Minute, "u", "T", store.AddOneTimeGrant, 0); err != nil {
			t.Fatal(err)
		}
	}
	if fmt.Sprint(got) != "[add T]" {
		t.Errorf("reported %q, want one add", got)
	}
	if _, ok := customstore.Audit(grantOnly{memory.New()}, nil).(store.OnceGrantStore); ok {
		t.Error("Audit of a store without ApplyOnce claims to have it")
	}
}

// grantOnly hides every method of its store but those of store.GrantStore.
type grantOnly struct{ store.GrantStore }

// Audit keeps the wrapped store's ReceiptStore methods, with or without
// ApplyOnce, and the conformance suite runs its Receipt subtests through
// the decorator.
func TestAuditKeepsReceipts(t *testing.T) {
	for _, tc := range []struct {
		name      string
		next      func() store.GrantStore
		once, rcp bool
	}{
		{"both", func() store.GrantStore { return memory.New() }, true, true},
		{"receipts-only", func() store.GrantStore { return receiptsOnly{memory.New()} }, false, true},
		{"once-only", func() store.GrantStore { return onceOnly{memory.New()} }, true, false},
		{"neither", func() store.GrantStore { return grantOnly{memory.New()} }, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := customstore.Audit(tc.next(), func(context.Context, customstore.Change) {})
			if _, ok := s.(store.OnceGrantStore); ok != tc.once {
				t.Errorf("Audit returned a %T: OnceGrantStore %v, want %v", s, ok, tc.once)
			}
			if _, ok := s.(store.ReceiptStore); ok != tc.rcp {
				t.Errorf("Audit returned a %T: ReceiptStore %v, want %v", s, ok, tc.rcp)
			}
			if tc.rcp && !tc.once {
				storetest.RunGrantStore(t, func(t *testing.T) store.GrantStore {
					return customstore.Audit(tc.next(), func(context.Context, customstore.Change) {})
				})
			}
		})
	}
}

func TestAuditReportsReceipts(t *testing.T) {
	var got []string
	s := customstore.Audit(memory.New(), func(_ context.Context, c customstore.Change) {
		got = append(got, fmt.Sprintf("%s %s %s %v", c.Op, c.TemplateID, c.OpKey, c.Err != nil))
	}).(store.ReceiptStore)
	ctx := context.Background()
	if _, err := s.AddOneTime(ctx, "u", "T", 2, 0); err != nil {
		t.Fatal(err)
	}
	got = nil
	r, _, err := s.ConsumeOnce(ctx, "send-1", time.Minute, "u", "T")
	if err != nil {
		t.Fatal(err)
	}
	for _, how := range []store.Settlement{store.Refunded, store.Kept, store.Revoked} {
		// Only the first settles; the others return it, changed nothing
		// and are not reported.
		if st, err := s.Settle(ctx, r, how); err != nil || st != store.Refunded {
			t.Fatalf("Settle(%v) = %v, %v; want refunded", how, st, err)
		}
	}
	k, _, err := s.ConsumeOnce(ctx, "send-2", time.Minute, "u", "T")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Settle(ctx, k, store.Kept); err != nil { // no change: not reported
		t.Fatal(err)
	}
	if _, _, err := s.ConsumeOnce(ctx, "send-3", time.Minute, "u", "X"); !errors.Is(err, store.ErrNoGrant) {
		t.Fatalf("ConsumeOnce without a grant: %v", err)
	}
	want := []string{"consume T send-1 false", "refund T send-1 false", "consume T send-2 false", "consume X send-3 true"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("reported %q, want %q", got, want)
	}
	if r, st, err := s.LookupReceipt(ctx, "u", "send-1"); err != nil || r.Op != "send-1" || st != store.Refunded {
		t.Fatalf("LookupReceipt through the decorator = %+v, %v, %v", r, st, err)
	}
}

// A hand-built decorator over a store without the methods it forwards
// fails with an error instead of panicking.
func TestAuditedReceiptsOverAPlainStore(t *testing.T) {
	s := customstore.AuditedReceipts{Audited: customstore.Audited{Next: grantOnly{memory.New()}, Report: func(context.Context, customstore.Change) {}}}
	ctx := context.Background()
	if _, _, err := s.ConsumeOnce(ctx, "k", time.Minute, "u", "T"); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("ConsumeOnce: %v, want errors.ErrUnsupported", err)
	}
	r := store.Receipt{OpenID: "u", TemplateID: "T", Kind: store.OneTime, Generation: "g", Op: "k"}
	if _, err := s.Settle(ctx, r, store.Kept); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("Settle: %v, want errors.ErrUnsupported", err)
	}
	if _, _, err := s.LookupReceipt(ctx, "u", "k"); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("LookupReceipt: %v, want errors.ErrUnsupported", err)
	}
	o := customstore.AuditedOnce{Audited: s.Audited}
	if _, err := o.ApplyOnce(ctx, "k", time.Minute, "u", "T", store.AddOneTimeGrant, 0); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("ApplyOnce: %v, want errors.ErrUnsupported", err)
	}
}

// receiptsOnly and onceOnly hide every method of their store but those of
// one optional interface (and GrantStore's).
type (
	receiptsOnly struct{ store.ReceiptStore }
	onceOnly     struct{ store.OnceGrantStore }
)
