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

// lossyGrants makes its grant changes and then, while lose is set,
// reports errLostReply, as a Redis killed after running the script would.
type lossyGrants struct {
	store.OnceGrantStore
	lose atomic.Bool
}

func (g *lossyGrants) ApplyOnce(ctx context.Context, opKey string, opTTL time.Duration, openID, templateID string, c store.GrantChange, ttl time.Duration) (bool, error) {
	applied, err := g.OnceGrantStore.ApplyOnce(ctx, opKey, opTTL, openID, templateID, c, ttl)
	if err == nil && g.lose.Load() {
		return false, errLostReply
	}
	return applied, err
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
// WeChat retries it. The route books grants with store.OnceGrantStore,
// whose ApplyOnce makes the change and records its key in one step, so
// the retry finds the key and adds nothing. (In the second case the first
// delivery is even answered 200; a duplicate delivery, which WeChat sends
// when an answer is late or lost, runs again once the claim's lease runs
// out, and must still add nothing.)
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
			grants := &lossyGrants{OnceGrantStore: mem}
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
			// Retry as WeChat does until answered 200. A retry on a loaded
			// machine may use up its 100 ms hook deadline in the stores,
			// so allow a good many.
			var retry middleware.Response
			for deadline := time.Now().Add(10 * time.Second); ; {
				if retry = deliver(); retry.Status == 200 || time.Now().After(deadline) {
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
