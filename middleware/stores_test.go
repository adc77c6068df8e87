package middleware

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/wxsub/wxsub/codec"
	"github.com/wxsub/wxsub/handlers"
	"github.com/wxsub/wxsub/store"
	"github.com/wxsub/wxsub/store/memory"
)

func TestDedupeStoreErrors(t *testing.T) {
	var c counter
	mux := handlers.NewMux()
	mux.OnText(c.hook)
	log, lb := newLogger()
	tests := []struct {
		name   string
		fail   string
		state  store.DedupeState
		status int
		body   string
		runs   int32
	}{
		{"Begin fails", "Begin", 0, 500, ReasonStore, 0},
		{"unknown state", "", 9, 500, ReasonStore, 0},
		{"Done fails after success", "Done", 0, 200, "success", 1},
	}
	for _, tt := range tests {
		c.runs.Store(0)
		e := newEndpoint(t, Config{Mux: mux, Logger: log, Dedupe: &faultyDedupe{DedupeStore: memory.New(), fail: tt.fail, state: tt.state}})
		checkResponse(t, tt.name, e.Serve(context.Background(), plainPush(textXML("1", "x"))), tt.status, tt.body)
		if got := c.runs.Load(); got != tt.runs {
			t.Errorf("%s: hook ran %d times, want %d", tt.name, got, tt.runs)
		}
	}
	if out := lb.String(); !contains(out, "dedupe store failed", "store unavailable", "unknown state", "failed to mark a push done") {
		t.Errorf("log:\n%s", out)
	}
}

// faultyGrants wraps a GrantStore and fails every write while fail is set.
type faultyGrants struct {
	store.GrantStore
	fail bool
}

func (f *faultyGrants) AddOneTime(ctx context.Context, openID, templateID string, n int64, ttl time.Duration) (int64, error) {
	if f.fail {
		return 0, errStore
	}
	return f.GrantStore.AddOneTime(ctx, openID, templateID, n, ttl)
}

func TestGrantStoreError(t *testing.T) {
	var runs int
	mux := handlers.NewMux()
	mux.OnSubscribePopup(func(context.Context, *handlers.SubscribePopupEvent) error { runs++; return nil })
	mem := memory.New()
	grants := &faultyGrants{GrantStore: mem, fail: true}
	e := newEndpoint(t, Config{Mux: mux, Grants: grants, Dedupe: mem})
	push := plainPush(popupXML(openID, now, [2]string{"T1", "accept"}))
	checkResponse(t, "store down", e.Serve(context.Background(), push), 500, ReasonStore)
	if runs != 0 {
		t.Errorf("hooks ran %d times before the grant was booked", runs)
	}
	grants.fail = false
	checkResponse(t, "retry", e.Serve(context.Background(), push), 200, "success")
	if g := getGrant(t, mem, openID, "T1"); g.Remaining != 1 || runs != 1 {
		t.Errorf("after retry: remaining %d, hooks %d; want 1, 1", g.Remaining, runs)
	}
}

// claimOnly hides ApplyOnce, so the route books through dedupe claims.
type claimOnly struct{ store.GrantStore }

func TestGrantItemInFlight(t *testing.T) {
	mem := memory.New()
	e := newEndpoint(t, Config{Grants: claimOnly{mem}, Dedupe: mem})
	push := plainPush(popupXML(openID, now, [2]string{"T1", "accept"}))
	// Another delivery holds the grant's claim (and has not finished).
	var msg codec.Message
	mustOK(t, codec.Decode(push.Body, &msg))
	key := grantKey(DefaultDedupeKey(&msg), "T1")
	if st, err := mem.Begin(context.Background(), key, time.Minute); err != nil || st != store.DedupeNew {
		t.Fatalf("Begin = %v, %v", st, err)
	}
	checkResponse(t, "item in flight", e.Serve(context.Background(), push), 503, ReasonInFlight)
	if err := mem.Done(context.Background(), key, time.Minute); err != nil {
		t.Fatal(err)
	}
	// The push itself was released, and the item is now done: nothing is
	// added twice.
	checkResponse(t, "retry", e.Serve(context.Background(), push), 200, "success")
	if g := getGrant(t, mem, openID, "T1"); g.Remaining != 0 {
		t.Errorf("remaining %d, want 0 (the other delivery booked it)", g.Remaining)
	}
}

func getGrant(t testing.TB, s store.GrantStore, openID, templateID string) store.Grant {
	t.Helper()
	g, err := s.Get(context.Background(), openID, templateID)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func contains(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}

// lostReplyGrants makes each ApplyOnce change, then reports a lost reply
// while lose is set: the store changed, the route cannot know it.
type lostReplyGrants struct {
	store.OnceGrantStore
	lose bool
}

func (g *lostReplyGrants) ApplyOnce(ctx context.Context, opKey string, opTTL time.Duration, openID, templateID string, c store.GrantChange, ttl time.Duration) (bool, error) {
	applied, err := g.OnceGrantStore.ApplyOnce(ctx, opKey, opTTL, openID, templateID, c, ttl)
	if err == nil && g.lose {
		return false, errors.New("connection lost before the reply")
	}
	return applied, err
}

// A grant whose store reply was lost is booked once, however often WeChat
// retries: ApplyOnce finds its key on the retry.
func TestGrantBookedOnceWhenTheStoreReplyIsLost(t *testing.T) {
	mem := memory.New()
	grants := &lostReplyGrants{OnceGrantStore: mem, lose: true}
	e := newEndpoint(t, Config{Grants: grants, Dedupe: mem})
	push := plainPush(popupXML(openID, now, [2]string{"T1", "accept"}, [2]string{"L1", "accept"}))
	checkResponse(t, "reply lost", e.Serve(context.Background(), push), 500, ReasonStore)
	grants.lose = false
	for i := 0; i < 3; i++ {
		checkResponse(t, "retry", e.Serve(context.Background(), push), 200, "success")
	}
	if g := getGrant(t, mem, openID, "T1"); g.Remaining != 1 {
		t.Errorf("T1 remaining %d after a lost reply and three retries, want 1", g.Remaining)
	}
	if g := getGrant(t, mem, openID, "L1"); g.Remaining != 1 {
		t.Errorf("L1 remaining %d, want 1 (booked on the first retry)", g.Remaining)
	}
}
