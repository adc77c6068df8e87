package middleware

import (
	"context"
	"sync/atomic"
	"testing"

	goredis "github.com/redis/go-redis/v9"

	"github.com/wxsub/wxsub/handlers"
	"github.com/wxsub/wxsub/internal/redistest"
	"github.com/wxsub/wxsub/store"
	"github.com/wxsub/wxsub/store/redis"
)

func newRedisStore(t *testing.T) *redis.Store {
	t.Helper()
	c, prefix := redistest.Client(t)
	s, err := redis.New(c, redis.WithPrefix(prefix))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestGrantBookkeepingRedis(t *testing.T) {
	testGrantBookkeeping(t, func(t *testing.T) (store.GrantStore, store.DedupeStore) {
		s := newRedisStore(t)
		return s, s
	})
}

// TestRedisFleet: two instances share one Redis, so a retry that reaches
// the other instance is recognised, and a failed push is retried anywhere.
func TestRedisFleet(t *testing.T) {
	s := newRedisStore(t)
	var runs, fail atomic.Int32
	fail.Store(1)
	mux := handlers.NewMux()
	mux.OnSubscribePopup(func(context.Context, *handlers.SubscribePopupEvent) error {
		runs.Add(1)
		if fail.Add(-1) >= 0 {
			return errStore
		}
		return nil
	})
	a := newEndpoint(t, Config{Mux: mux, Grants: s, Dedupe: s})
	b := newEndpoint(t, Config{Mux: mux, Grants: s, Dedupe: s})
	push := plainPush(popupXML(openID, now, [2]string{"T1", "accept"}))
	steps := []struct {
		e      *Endpoint
		status int
		runs   int32
	}{
		{a, 500, 1}, // the hook fails on A
		{b, 200, 2}, // WeChat's retry reaches B and runs it again
		{a, 200, 2}, // a later retry on A: already handled
		{b, 200, 2},
	}
	for i, st := range steps {
		if got := st.e.Serve(context.Background(), push); got.Status != st.status {
			t.Errorf("step %d: status %d %q, want %d", i, got.Status, got.Body, st.status)
		}
		if got := runs.Load(); got != st.runs {
			t.Errorf("step %d: hook ran %d times, want %d", i, got, st.runs)
		}
	}
	if g := getGrant(t, s, openID, "T1"); g.Remaining != 1 {
		t.Errorf("remaining %d, want 1", g.Remaining)
	}
}

// TestRedisDown: with the store unreachable, pushes are answered 500 so
// that WeChat retries, and nothing runs; once it is back they go through.
func TestRedisDown(t *testing.T) {
	srv := redistest.StartServer(t)
	c := goredis.NewClient(&goredis.Options{Addr: srv.Addr(), MaxRetries: -1})
	defer c.Close()
	s, err := redis.New(c)
	if err != nil {
		t.Fatal(err)
	}
	var runs atomic.Int32
	mux := handlers.NewMux()
	mux.OnSubscribePopup(func(context.Context, *handlers.SubscribePopupEvent) error { runs.Add(1); return nil })
	log, _ := newLogger()
	e := newEndpoint(t, Config{Mux: mux, Grants: s, Dedupe: s, Logger: log})
	push := plainPush(popupXML(openID, now, [2]string{"T1", "accept"}))

	srv.Stop()
	checkResponse(t, "Redis down", e.Serve(context.Background(), push), 500, ReasonStore)
	if runs.Load() != 0 {
		t.Errorf("hooks ran without the store")
	}
	srv.Start()
	checkResponse(t, "Redis back", e.Serve(context.Background(), push), 200, "success")
	if g := getGrant(t, s, openID, "T1"); g.Remaining != 1 || runs.Load() != 1 {
		t.Errorf("remaining %d, hooks %d; want 1, 1", g.Remaining, runs.Load())
	}
}
