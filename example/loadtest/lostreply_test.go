package loadtest

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wxsub/wxsub/middleware"
	"github.com/wxsub/wxsub/middleware/pushtest"
	"github.com/wxsub/wxsub/store"
	"github.com/wxsub/wxsub/store/memory"
)

// errLostReply is what a store client sees when the store applied a
// command but the connection died before the answer came back, as when
// Redis is killed mid-command.
var errLostReply = errors.New("loadtest: connection lost before the reply")

// lossyGrants applies AddOneTime and then, while lose is set, reports
// errLostReply, as a Redis killed after running the script would.
type lossyGrants struct {
	store.GrantStore
	lose atomic.Bool
}

func (g *lossyGrants) AddOneTime(ctx context.Context, openID, templateID string, n int64, ttl time.Duration) (int64, error) {
	got, err := g.GrantStore.AddOneTime(ctx, openID, templateID, n, ttl)
	if err == nil && g.lose.Load() {
		return 0, errLostReply
	}
	return got, err
}

// flakyDedupe fails Done while fail is set, as a Redis that went away
// between booking a grant and marking the push handled.
type flakyDedupe struct {
	store.DedupeStore
	fail atomic.Bool
}

func (d *flakyDedupe) Done(ctx context.Context, key string, ttl time.Duration) error {
	if d.fail.Load() {
		return errLostReply
	}
	return d.DedupeStore.Done(ctx, key, ttl)
}

// TestGrantBookedOnceAfterLostReply is the deterministic form of what
// TestRedisOutage catches now and then: a popup accept whose grant reached
// the store, but whose push failed (the store's answer was lost, or the
// push could not be marked handled), must not add a second grant when
// WeChat retries it. Both cases fail today: the middleware books a grant
// and marks it booked in two separate store calls, so a failure between
// them makes the retry book it again. (In the second case the first
// delivery is even answered 200; a duplicate delivery, which WeChat sends
// when an answer is late or lost, books the grant again once the claim's
// lease runs out.)
func TestGrantBookedOnceAfterLostReply(t *testing.T) {
	gate(t)
	for _, tc := range []struct {
		name  string
		fault func(g *lossyGrants, d *flakyDedupe, on bool)
	}{
		{"grant reply lost", func(g *lossyGrants, _ *flakyDedupe, on bool) { g.lose.Store(on) }},
		{"marks lost after the grant", func(_ *lossyGrants, d *flakyDedupe, on bool) { d.fail.Store(on) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mem := memory.New()
			grants := &lossyGrants{GrantStore: mem}
			dedupe := &flakyDedupe{DedupeStore: mem}
			e, err := middleware.New(middleware.Config{
				Token: token, Grants: grants, Dedupe: dedupe,
				// A short lease, so that the retry after an unmarked claim
				// runs within the test.
				HookTimeout: 100 * time.Millisecond, DedupeLease: 200 * time.Millisecond,
			})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = e.Close(context.Background()) })
			wx, err := pushtest.New(pushtest.Config{Token: token})
			if err != nil {
				t.Fatal(err)
			}
			push := pushtest.Popup(gh, "o_lost_reply", time.Now().Unix(), [2]string{"T1", "accept"})
			deliver := func() middleware.Response {
				req, err := wx.Request(push)
				if err != nil {
					t.Fatal(err)
				}
				return e.Serve(context.Background(), req)
			}

			tc.fault(grants, dedupe, true)
			first := deliver()
			tc.fault(grants, dedupe, false)
			time.Sleep(300 * time.Millisecond) // past the lease of any claim left behind
			var retry middleware.Response
			for range 10 {
				if retry = deliver(); retry.Status == 200 {
					break
				}
				time.Sleep(100 * time.Millisecond)
			}
			g, err := mem.Get(context.Background(), "o_lost_reply", "T1")
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("first delivery %d %q, retry %d %q", first.Status, first.Body, retry.Status, retry.Body)
			if retry.Status != 200 {
				t.Fatalf("the retry was answered %d %q, want 200", retry.Status, retry.Body)
			}
			if g.Remaining != 1 {
				t.Errorf("one accepted popup, delivered twice, left %d one-time grants; want 1", g.Remaining)
			}
		})
	}
}
