package memory_test

import (
	"errors"
	"math"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wxsub/wxsub/store"
	"github.com/wxsub/wxsub/store/memory"
	"github.com/wxsub/wxsub/store/storetest"
)

func TestGrantStore(t *testing.T) {
	storetest.RunGrantStore(t, func(t *testing.T) store.GrantStore { return memory.New() })
}

func TestTokenStore(t *testing.T) {
	storetest.RunTokenStore(t, func(t *testing.T) store.TokenStore { return memory.New() })
}

func TestDedupeStore(t *testing.T) {
	storetest.RunDedupeStore(t, func(t *testing.T) store.DedupeStore { return memory.New() })
}

func TestDedupeAlone(t *testing.T) {
	storetest.RunDedupeStore(t, func(t *testing.T) store.DedupeStore { return memory.NewDedupe() })
}

func TestStoresAreIndependent(t *testing.T) {
	ctx := t.Context()
	a, b := memory.New(), memory.New()
	if _, err := a.AddOneTime(ctx, "u", "t", 1, 0); err != nil {
		t.Fatal(err)
	}
	if err := a.SetToken(ctx, "app", store.Token{AccessToken: "x", ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Begin(ctx, "push", time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Consume(ctx, "u", "t"); !errors.Is(err, store.ErrNoGrant) {
		t.Fatalf("Consume on a second store: err = %v, want ErrNoGrant", err)
	}
	if _, err := b.GetToken(ctx, "app"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetToken on a second store: err = %v, want ErrNotFound", err)
	}
	if st, err := b.Begin(ctx, "push", time.Minute); err != nil || st != store.DedupeNew {
		t.Fatalf("Begin on a second store = %v, %v; want new, nil", st, err)
	}
}

func TestAddOneTimeOverflow(t *testing.T) {
	ctx := t.Context()
	s := memory.New()
	if n, err := s.AddOneTime(ctx, "u", "t", math.MaxInt64, 0); err != nil || n != math.MaxInt64 {
		t.Fatalf("AddOneTime(MaxInt64) = %d, %v; want %d, nil", n, err, int64(math.MaxInt64))
	}
	if _, err := s.AddOneTime(ctx, "u", "t", 1, 0); !errors.Is(err, store.ErrInvalidArgument) {
		t.Fatalf("AddOneTime past MaxInt64: err = %v, want ErrInvalidArgument", err)
	}
	r, err := s.Consume(ctx, "u", "t")
	if err != nil {
		t.Fatal(err)
	}
	for range 2 { // the second refund would overflow and is dropped
		if err := s.Refund(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if g, _ := s.Get(ctx, "u", "t"); g.Remaining != math.MaxInt64 {
		t.Fatalf("Remaining = %d, want %d", g.Remaining, int64(math.MaxInt64))
	}
}

// TestParallelConsumeExact runs 64 goroutines on one record, as the
// parallel benchmark does, and checks that not one grant is lost or doubled.
func TestParallelConsumeExact(t *testing.T) {
	const workers, each = 64, 2000
	ctx := t.Context()
	s := memory.New()
	if _, err := s.AddOneTime(ctx, "u", "t", workers*each, 0); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var failed atomic.Int64
	for range workers {
		wg.Go(func() {
			for range each {
				if _, err := s.Consume(ctx, "u", "t"); err != nil {
					failed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if n := failed.Load(); n != 0 {
		t.Fatalf("%d of %d Consume calls failed with grants to spare", n, workers*each)
	}
	if g, _ := s.Get(ctx, "u", "t"); g.Remaining != 0 {
		t.Fatalf("Remaining = %d after consuming every grant, want 0", g.Remaining)
	}
	if _, err := s.Consume(ctx, "u", "t"); !errors.Is(err, store.ErrNoGrant) {
		t.Fatalf("Consume after the last grant: err = %v, want ErrNoGrant", err)
	}
}

// TestExpiredRecordPruned checks that one expired template does not keep
// its record alive next to a non-expiring one.
func TestExpiredRecordPruned(t *testing.T) {
	ctx := t.Context()
	s := memory.New()
	if _, err := s.AddOneTime(ctx, "u", "short", 1, 50*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddOneTime(ctx, "u", "kept", 1, 0); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	// Re-granting after expiry starts from zero.
	if n, err := s.AddOneTime(ctx, "u", "short", 1, 0); err != nil || n != 1 {
		t.Fatalf("AddOneTime after expiry = %d, %v; want 1, nil", n, err)
	}
	gs, err := s.List(ctx, "u")
	if err != nil || len(gs) != 2 {
		t.Fatalf("List = %+v, %v; want two records", gs, err)
	}
}
