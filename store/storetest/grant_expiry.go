package storetest

import (
	"testing"
	"time"

	"github.com/wxsub/wxsub/store"
)

// testGrantExpiry sets up every expiry case on its own template, waits once
// for the short TTL to pass, and then checks what survived.
func testGrantExpiry(t testing.TB, s store.GrantStore, tm *timing) {
	f := newGrantFixture(t, s)
	type check struct {
		ttl       time.Duration // 0: ExpiresAt must be zero
		remaining int64
		longTerm  bool
	}
	tests := []struct {
		tmpl   string
		setup  func(tmpl string)
		before check  // right after setup
		after  *check // after the short TTL passed; nil: the record is gone
	}{
		{"ttl-expires", func(tp string) { f.add(tp, 1, tm.short, 1) },
			check{tm.short, 1, false}, nil},
		{"zero-ttl-never-expires", func(tp string) { f.add(tp, 1, 0, 1) },
			check{0, 1, false}, &check{0, 1, false}},
		{"later-zero-ttl-persists", func(tp string) { f.add(tp, 1, tm.short, 1); f.add(tp, 1, 0, 2) },
			check{0, 2, false}, &check{0, 2, false}},
		{"persistent-stays-persistent", func(tp string) { f.add(tp, 1, 0, 1); f.add(tp, 1, tm.short, 2) },
			check{0, 2, false}, &check{0, 2, false}},
		{"longer-ttl-extends", func(tp string) { f.add(tp, 1, tm.short, 1); f.add(tp, 1, tm.long, 2) },
			check{tm.long, 2, false}, &check{tm.long, 2, false}},
		{"shorter-ttl-keeps-longer", func(tp string) { f.add(tp, 1, tm.long, 1); f.add(tp, 1, tm.short, 2) },
			check{tm.long, 2, false}, &check{tm.long, 2, false}},
		{"long-term-expires", func(tp string) { f.setLongTerm(tp, tm.short) },
			check{tm.short, 0, true}, nil},
		{"long-term-then-persistent-add", func(tp string) { f.setLongTerm(tp, tm.short); f.add(tp, 1, 0, 1) },
			check{0, 1, true}, &check{0, 1, true}},
		{"huge-ttl", func(tp string) { f.add(tp, 1, hugeTTL, 1) },
			check{hugeTTL, 1, false}, &check{hugeTTL, 1, false}},
		{"one-time-then-longer-long-term", func(tp string) { f.add(tp, 1, tm.short, 1); f.setLongTerm(tp, tm.long) },
			check{tm.long, 1, true}, &check{tm.long, 1, true}},
	}
	verify := func(tmpl string, c check, g store.Grant, begin time.Time) {
		t.Helper()
		want := store.Grant{OpenID: f.user, TemplateID: tmpl, Remaining: c.remaining, LongTerm: c.longTerm}
		got := g
		got.ExpiresAt = time.Time{}
		if got != want {
			t.Fatalf("%s: Get = %+v, want %+v", tmpl, g, want)
		}
		if c.ttl == 0 {
			if !g.ExpiresAt.IsZero() {
				t.Fatalf("%s: ExpiresAt = %v, want the zero time (never)", tmpl, g.ExpiresAt)
			}
			return
		}
		wantExpiry(t, tmpl, g.ExpiresAt, begin, time.Now(), c.ttl)
	}
	// Check each case right after its setup, so that a slow machine
	// cannot let a short TTL run out before the first check.
	first := time.Now()
	for _, tc := range tests {
		begin := time.Now()
		tc.setup(tc.tmpl)
		verify(tc.tmpl, tc.before, f.get(tc.tmpl), begin)
	}

	tm.wait()

	var survivors []store.Grant
	for _, tc := range tests {
		if tc.after == nil {
			f.wantMissing(tc.tmpl)
			f.noGrant(tc.tmpl)
			continue
		}
		g := f.get(tc.tmpl)
		verify(tc.tmpl, *tc.after, g, first)
		survivors = append(survivors, g)
	}
	listed := f.list(f.user)
	if len(listed) != len(survivors) {
		t.Fatalf("List after expiry = %+v, want the %d records that did not expire", listed, len(survivors))
	}
	byTemplate := make(map[string]store.Grant, len(survivors))
	for _, g := range survivors {
		byTemplate[g.TemplateID] = g
	}
	for _, g := range listed {
		want, ok := byTemplate[g.TemplateID]
		if !ok || g.Remaining != want.Remaining || g.LongTerm != want.LongTerm ||
			g.ExpiresAt.IsZero() != want.ExpiresAt.IsZero() {
			t.Fatalf("List after expiry has %+v, want %+v", g, want)
		}
	}
}
