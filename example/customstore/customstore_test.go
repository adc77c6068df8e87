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
// its ApplyOnce subtests through the decorator.
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
