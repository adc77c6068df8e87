package storetest

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wxsub/wxsub/store"
)

// runApplyOnce checks store.OnceGrantStore for stores that implement it.
func runApplyOnce(t *testing.T, newStore func(t *testing.T) store.GrantStore) {
	t.Helper()
	if _, ok := newStore(t).(store.OnceGrantStore); !ok {
		t.Log("the store does not implement store.OnceGrantStore: ApplyOnce subtests skipped")
		return
	}
	tests := []struct {
		name string
		run  func(t *testing.T, s store.OnceGrantStore)
	}{
		{"ApplyOnce/AddOnce", testApplyOnceAdd},
		{"ApplyOnce/LongTermAndRevoke", testApplyOnceLongTermAndRevoke},
		{"ApplyOnce/KeyPerUser", testApplyOnceKeyPerUser},
		{"ApplyOnce/KeyExpires", expiring(testApplyOnceKeyExpires)},
		{"ApplyOnce/Concurrent", testApplyOnceConcurrent},
		{"ApplyOnce/InvalidArguments", testApplyOnceInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, newStore(t).(store.OnceGrantStore)) })
	}
}

func applyOnce(t testing.TB, s store.OnceGrantStore, key, user, tmpl string, c store.GrantChange, want bool) {
	t.Helper()
	got, err := s.ApplyOnce(testContext(t), key, time.Minute, user, tmpl, c, 0)
	noErr(t, "ApplyOnce("+key+", "+c.String()+")", err)
	if got != want {
		t.Fatalf("ApplyOnce(%s, %s) applied=%v, want %v", key, c, got, want)
	}
}

func wantGrant(t testing.TB, s store.GrantStore, user, tmpl string, remaining int64, longTerm bool) {
	t.Helper()
	g, err := s.Get(testContext(t), user, tmpl)
	noErr(t, "Get", err)
	if g.Remaining != remaining || g.LongTerm != longTerm {
		t.Fatalf("grant of %s/%s: remaining=%d long-term=%v, want %d %v", user, tmpl, g.Remaining, g.LongTerm, remaining, longTerm)
	}
}

func testApplyOnceAdd(t *testing.T, s store.OnceGrantStore) {
	user := unique("once-add")
	applyOnce(t, s, "push-1:T", user, "T", store.AddOneTimeGrant, true)
	applyOnce(t, s, "push-1:T", user, "T", store.AddOneTimeGrant, false)
	wantGrant(t, s, user, "T", 1, false)
	applyOnce(t, s, "push-2:T", user, "T", store.AddOneTimeGrant, true)
	wantGrant(t, s, user, "T", 2, false)
	// What ApplyOnce added, Consume takes.
	if _, err := s.Consume(testContext(t), user, "T"); err != nil {
		t.Fatalf("Consume after ApplyOnce: %v", err)
	}
	wantGrant(t, s, user, "T", 1, false)
}

func testApplyOnceLongTermAndRevoke(t *testing.T, s store.OnceGrantStore) {
	user := unique("once-lt")
	applyOnce(t, s, "p1:L", user, "L", store.SetLongTermGrant, true)
	applyOnce(t, s, "p1:L", user, "L", store.SetLongTermGrant, false)
	wantGrant(t, s, user, "L", 0, true)
	applyOnce(t, s, "p2:L", user, "L", store.RevokeGrant, true)
	wantGrant(t, s, user, "L", 0, false)
	// A re-grant under a new key, then the old revoke key again: no effect.
	applyOnce(t, s, "p3:L", user, "L", store.SetLongTermGrant, true)
	applyOnce(t, s, "p2:L", user, "L", store.RevokeGrant, false)
	wantGrant(t, s, user, "L", 0, true)
}

func testApplyOnceKeyPerUser(t *testing.T, s store.OnceGrantStore) {
	a, b := unique("once-a"), unique("once-b")
	applyOnce(t, s, "same-key", a, "T", store.AddOneTimeGrant, true)
	applyOnce(t, s, "same-key", b, "T", store.AddOneTimeGrant, true)
	wantGrant(t, s, a, "T", 1, false)
	wantGrant(t, s, b, "T", 1, false)
}

func testApplyOnceKeyExpires(t testing.TB, s store.OnceGrantStore, tm *timing) {
	user := unique("once-exp")
	ctx := testContext(t)
	for i, want := range []bool{true, false} {
		got, err := s.ApplyOnce(ctx, "k", tm.short, user, "T", store.AddOneTimeGrant, 0)
		noErr(t, "ApplyOnce", err)
		if got != want {
			t.Fatalf("call %d: applied=%v, want %v", i, got, want)
		}
	}
	tm.wait()
	got, err := s.ApplyOnce(ctx, "k", tm.short, user, "T", store.AddOneTimeGrant, 0)
	noErr(t, "ApplyOnce after the key expired", err)
	if !got {
		t.Fatal("ApplyOnce after its key expired did not apply")
	}
	wantGrant(t, s, user, "T", 2, false)
}

func testApplyOnceConcurrent(t *testing.T, s store.OnceGrantStore) {
	user := unique("once-conc")
	ctx := testContext(t)
	var applied atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 200)
	for i := 0; i < 200; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			// 20 distinct keys, each raced by 10 goroutines.
			ok, err := s.ApplyOnce(ctx, "k"+string(rune('a'+i%20)), time.Minute, user, "T", store.AddOneTimeGrant, 0)
			if err != nil {
				errs <- err
				return
			}
			if ok {
				applied.Add(1)
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if applied.Load() != 20 {
		t.Fatalf("%d of 200 racing calls applied, want exactly 20 (one per key)", applied.Load())
	}
	wantGrant(t, s, user, "T", 20, false)
}

func testApplyOnceInvalid(t *testing.T, s store.OnceGrantStore) {
	ctx := testContext(t)
	for _, tc := range []struct {
		name       string
		key        string
		opTTL      time.Duration
		user, tmpl string
		change     store.GrantChange
		ttl        time.Duration
	}{
		{"empty key", "", time.Minute, "u", "T", store.AddOneTimeGrant, 0},
		{"zero key ttl", "k", 0, "u", "T", store.AddOneTimeGrant, 0},
		{"empty openid", "k", time.Minute, "", "T", store.AddOneTimeGrant, 0},
		{"empty template", "k", time.Minute, "u", "", store.AddOneTimeGrant, 0},
		{"unknown change", "k", time.Minute, "u", "T", store.GrantChange(99), 0},
		{"negative ttl", "k", time.Minute, "u", "T", store.AddOneTimeGrant, -time.Second},
	} {
		_, err := s.ApplyOnce(ctx, tc.key, tc.opTTL, tc.user, tc.tmpl, tc.change, tc.ttl)
		if !errors.Is(err, store.ErrInvalidArgument) {
			t.Errorf("%s: error %v, want ErrInvalidArgument", tc.name, err)
		}
	}
}
