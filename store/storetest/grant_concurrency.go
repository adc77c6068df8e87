package storetest

import (
	"errors"
	"sync"
	"testing"

	"github.com/wxsub/wxsub/store"
)

// testConcurrentConsume races 1,000 consumers over 100 grants.
func testConcurrentConsume(t *testing.T, s store.GrantStore) {
	const grants, callers = 100, 1000
	f := newGrantFixture(t, s)
	f.add("t1", grants, 0, grants)
	var (
		wg              sync.WaitGroup
		mu              sync.Mutex
		ok, none, other int
		firstErr        error
		start           = make(chan struct{})
	)
	for range callers {
		wg.Go(func() {
			<-start
			r, err := s.Consume(f.ctx, f.user, "t1")
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil && r.Kind == store.OneTime:
				ok++
			case errors.Is(err, store.ErrNoGrant):
				none++
			default:
				other++
				if firstErr == nil {
					firstErr = err
				}
			}
		})
	}
	close(start)
	wg.Wait()
	if ok != grants || none != callers-grants || other != 0 {
		t.Fatalf("%d concurrent Consume calls on %d grants: %d succeeded, %d got ErrNoGrant, %d failed otherwise (first: %v); want %d, %d, 0",
			callers, grants, ok, none, other, firstErr, grants, callers-grants)
	}
	f.want("t1", 0, false)
}

// testConcurrentReconcile runs adders, consumers and refunders at once and
// checks that the final count is exactly what they did.
func testConcurrentReconcile(t *testing.T, s store.GrantStore) {
	const (
		initial   = 200
		adders    = 20
		addsEach  = 25
		consumers = 20
		triesEach = 50
	)
	f := newGrantFixture(t, s)
	f.add("t1", initial, 0, initial)
	var (
		wg                 sync.WaitGroup
		mu                 sync.Mutex
		consumed, refunded int64
		failures           []error
		start              = make(chan struct{})
	)
	fail := func(err error) {
		mu.Lock()
		failures = append(failures, err)
		mu.Unlock()
	}
	for range adders {
		wg.Go(func() {
			<-start
			for range addsEach {
				n, err := s.AddOneTime(f.ctx, f.user, "t1", 1, 0)
				if err != nil {
					fail(err)
				} else if n < 1 {
					fail(errors.New("AddOneTime returned a count below 1"))
				}
			}
		})
	}
	for i := range consumers {
		wg.Go(func() {
			<-start
			var took, gave int64
			for j := range triesEach {
				r, err := s.Consume(f.ctx, f.user, "t1")
				if errors.Is(err, store.ErrNoGrant) {
					continue
				}
				if err != nil {
					fail(err)
					continue
				}
				took++
				if (i+j)%3 == 0 {
					if err := s.Refund(f.ctx, r); err != nil {
						fail(err)
						continue
					}
					gave++
				}
				g, err := s.Get(f.ctx, f.user, "t1")
				if err != nil {
					fail(err)
				} else if g.Remaining < 0 {
					fail(errors.New("Remaining went below zero"))
				}
			}
			mu.Lock()
			consumed += took
			refunded += gave
			mu.Unlock()
		})
	}
	close(start)
	wg.Wait()
	if len(failures) > 0 {
		t.Fatalf("%d concurrent calls failed; first: %v", len(failures), failures[0])
	}
	want := initial + adders*addsEach - consumed + refunded
	f.want("t1", want, false)
	if consumed == 0 {
		t.Fatalf("no Consume call succeeded; the test exercised nothing")
	}
}
