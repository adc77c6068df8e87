package storetest

import (
	"cmp"
	"context"
	"slices"
	"testing"
	"time"

	"github.com/wxsub/wxsub/store"
)

// RunGrantStore runs the conformance suite for store.GrantStore. newStore
// is called once per subtest and must return a store that is ready to use.
func RunGrantStore(t *testing.T, newStore func(t *testing.T) store.GrantStore) {
	t.Helper()
	tests := []struct {
		name string
		run  func(t *testing.T, s store.GrantStore)
	}{
		{"AddAndConsume", testAddAndConsume},
		{"NoGrant", testNoGrant},
		{"LongTermPreferred", testLongTermPreferred},
		{"LongTermOnly", testLongTermOnly},
		{"Refund", testRefund},
		{"RefundLongTerm", testRefundLongTerm},
		{"RefundAfterRevoke", testRefundAfterRevoke},
		{"RefundAfterDeleteUser", testRefundAfterDeleteUser},
		{"RefundAfterExpiry", expiring(testRefundAfterExpiry)},
		{"RegrantNewGeneration", testRegrantNewGeneration},
		{"Revoke", testRevoke},
		{"GetMissing", testGetMissing},
		{"List", testList},
		{"DeleteUser", testDeleteUser},
		{"InvalidArguments", testGrantInvalidArguments},
		{"Expiry", expiring(testGrantExpiry)},
		{"CancelledContext", testGrantCancelledContext},
		{"ConcurrentConsume", testConcurrentConsume},
		{"ConcurrentReconcile", testConcurrentReconcile},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, newStore(t)) })
	}
	runApplyOnce(t, newStore)
	runReceipts(t, newStore)
}

// grantFixture bundles a store with a context and a fresh user for one
// subtest, and checks results as it goes.
type grantFixture struct {
	t    testing.TB
	ctx  context.Context
	s    store.GrantStore
	user string
}

func newGrantFixture(t testing.TB, s store.GrantStore) *grantFixture {
	return &grantFixture{t: t, ctx: testContext(t), s: s, user: unique("user")}
}

func (f *grantFixture) add(tmpl string, n int64, ttl time.Duration, want int64) {
	f.t.Helper()
	got, err := f.s.AddOneTime(f.ctx, f.user, tmpl, n, ttl)
	noErr(f.t, "AddOneTime", err)
	if got != want {
		f.t.Fatalf("AddOneTime(%s, %d) = %d, want %d", tmpl, n, got, want)
	}
}

func (f *grantFixture) setLongTerm(tmpl string, ttl time.Duration) {
	f.t.Helper()
	noErr(f.t, "SetLongTerm", f.s.SetLongTerm(f.ctx, f.user, tmpl, ttl))
}

// consume takes one grant and checks the receipt's kind and identity.
func (f *grantFixture) consume(tmpl string, kind store.GrantKind) store.Receipt {
	f.t.Helper()
	r, err := f.s.Consume(f.ctx, f.user, tmpl)
	noErr(f.t, "Consume("+tmpl+")", err)
	if r.OpenID != f.user || r.TemplateID != tmpl || r.Kind != kind || r.Generation == "" {
		f.t.Fatalf("Consume(%s) receipt = %+v, want OpenID %q, TemplateID %q, Kind %v, a non-empty Generation",
			tmpl, r, f.user, tmpl, kind)
	}
	return r
}

// noGrant checks that Consume fails with ErrNoGrant and a zero receipt.
func (f *grantFixture) noGrant(tmpl string) {
	f.t.Helper()
	r, err := f.s.Consume(f.ctx, f.user, tmpl)
	wantErrIs(f.t, "Consume("+tmpl+")", err, store.ErrNoGrant)
	if r != (store.Receipt{}) {
		f.t.Fatalf("Consume(%s) failed but returned receipt %+v, want a zero Receipt", tmpl, r)
	}
}

func (f *grantFixture) refund(r store.Receipt) {
	f.t.Helper()
	noErr(f.t, "Refund", f.s.Refund(f.ctx, r))
}

// get returns the user's grant for tmpl, failing the test on an error.
func (f *grantFixture) get(tmpl string) store.Grant {
	f.t.Helper()
	g, err := f.s.Get(f.ctx, f.user, tmpl)
	noErr(f.t, "Get("+tmpl+")", err)
	return g
}

// want checks a non-expiring grant exactly.
func (f *grantFixture) want(tmpl string, remaining int64, longTerm bool) {
	f.t.Helper()
	want := store.Grant{OpenID: f.user, TemplateID: tmpl, Remaining: remaining, LongTerm: longTerm}
	if got := f.get(tmpl); got != want {
		f.t.Fatalf("Get(%s) = %+v, want %+v", tmpl, got, want)
	}
}

// wantMissing checks that Get finds no record: a zero Grant and no error.
func (f *grantFixture) wantMissing(tmpl string) {
	f.t.Helper()
	if got := f.get(tmpl); got != (store.Grant{}) {
		f.t.Fatalf("Get(%s) = %+v, want the zero Grant", tmpl, got)
	}
}

// list returns the user's records sorted by template id.
func (f *grantFixture) list(user string) []store.Grant {
	f.t.Helper()
	gs, err := f.s.List(f.ctx, user)
	noErr(f.t, "List", err)
	slices.SortFunc(gs, func(a, b store.Grant) int { return cmp.Compare(a.TemplateID, b.TemplateID) })
	return gs
}

// wantList checks the user's records exactly (ExpiresAt included).
func (f *grantFixture) wantList(user string, want ...store.Grant) {
	f.t.Helper()
	got := f.list(user)
	if !slices.Equal(got, want) {
		f.t.Fatalf("List(%s) = %+v, want %+v", user, got, want)
	}
}

func testAddAndConsume(t *testing.T, s store.GrantStore) {
	f := newGrantFixture(t, s)
	f.add("t1", 1, 0, 1)
	f.add("t1", 2, 0, 3)
	f.want("t1", 3, false)
	first := f.consume("t1", store.OneTime)
	for _, left := range []int64{2, 1, 0} {
		if left != 2 {
			r := f.consume("t1", store.OneTime)
			if r.Generation != first.Generation {
				t.Fatalf("Generation changed within one record: %q then %q", first.Generation, r.Generation)
			}
		}
		f.want("t1", left, false)
	}
	for range 3 {
		f.noGrant("t1")
	}
	f.want("t1", 0, false)
	// A record with nothing left is still listed until it is revoked.
	f.wantList(f.user, store.Grant{OpenID: f.user, TemplateID: "t1"})
}

func testNoGrant(t *testing.T, s store.GrantStore) {
	f := newGrantFixture(t, s)
	f.noGrant("t1")
	f.add("t1", 1, 0, 1)
	f.noGrant("t2")
	other := &grantFixture{t: t, ctx: f.ctx, s: s, user: unique("other")}
	other.noGrant("t1")
	f.want("t1", 1, false)
}

func testLongTermPreferred(t *testing.T, s store.GrantStore) {
	f := newGrantFixture(t, s)
	f.add("t1", 2, 0, 2)
	f.setLongTerm("t1", 0)
	f.setLongTerm("t1", 0) // idempotent
	f.want("t1", 2, true)
	first := f.consume("t1", store.LongTerm)
	for range 4 {
		if r := f.consume("t1", store.LongTerm); r.Generation != first.Generation {
			t.Fatalf("Generation changed within one record: %q then %q", first.Generation, r.Generation)
		}
	}
	f.want("t1", 2, true)
	// Adding one-time grants to a long-term record keeps the flag.
	f.add("t1", 1, 0, 3)
	f.want("t1", 3, true)
}

func testLongTermOnly(t *testing.T, s store.GrantStore) {
	f := newGrantFixture(t, s)
	f.setLongTerm("t1", 0)
	f.want("t1", 0, true)
	f.consume("t1", store.LongTerm)
	f.want("t1", 0, true)
}

func testRefund(t *testing.T, s store.GrantStore) {
	f := newGrantFixture(t, s)
	f.add("t1", 2, 0, 2)
	r := f.consume("t1", store.OneTime)
	f.want("t1", 1, false)
	f.refund(r)
	f.want("t1", 2, false)
	r1 := f.consume("t1", store.OneTime)
	r2 := f.consume("t1", store.OneTime)
	f.noGrant("t1")
	f.refund(r1)
	f.want("t1", 1, false)
	f.refund(r2)
	f.want("t1", 2, false)
}

func testRefundLongTerm(t *testing.T, s store.GrantStore) {
	f := newGrantFixture(t, s)
	f.add("t1", 1, 0, 1)
	f.setLongTerm("t1", 0)
	r := f.consume("t1", store.LongTerm)
	f.refund(r)
	f.want("t1", 1, true)
	// A long-term receipt for a record that is gone is a no-op too.
	noErr(t, "Revoke", s.Revoke(f.ctx, f.user, "t1"))
	f.refund(r)
	f.wantMissing("t1")
}

func testRefundAfterRevoke(t *testing.T, s store.GrantStore) {
	f := newGrantFixture(t, s)
	f.add("t1", 1, 0, 1)
	r := f.consume("t1", store.OneTime)
	noErr(t, "Revoke", s.Revoke(f.ctx, f.user, "t1"))
	f.refund(r)
	f.wantMissing("t1")
	f.noGrant("t1")
	f.wantList(f.user)
}

func testRefundAfterDeleteUser(t *testing.T, s store.GrantStore) {
	f := newGrantFixture(t, s)
	f.add("t1", 1, 0, 1)
	r := f.consume("t1", store.OneTime)
	noErr(t, "DeleteUser", s.DeleteUser(f.ctx, f.user))
	f.refund(r)
	f.wantMissing("t1")
	f.noGrant("t1")
	f.wantList(f.user)
}

func testRefundAfterExpiry(t testing.TB, s store.GrantStore, tm *timing) {
	f := newGrantFixture(t, s)
	f.add("t1", 1, tm.short, 1)
	r := f.consume("t1", store.OneTime)
	tm.wait()
	f.refund(r)
	f.wantMissing("t1")
	f.noGrant("t1")
	// A new grant after expiry is a new record that the old receipt
	// cannot touch.
	f.add("t1", 1, 0, 1)
	f.refund(r)
	f.want("t1", 1, false)
}

func testRegrantNewGeneration(t *testing.T, s store.GrantStore) {
	f := newGrantFixture(t, s)
	f.add("t1", 1, 0, 1)
	old := f.consume("t1", store.OneTime)
	noErr(t, "Revoke", s.Revoke(f.ctx, f.user, "t1"))
	f.add("t1", 1, 0, 1) // a fresh record: nothing carried over
	f.refund(old)
	f.want("t1", 1, false)
	cur := f.consume("t1", store.OneTime)
	if cur.Generation == old.Generation {
		t.Fatalf("re-granted record kept generation %q", old.Generation)
	}
	f.refund(old)
	f.want("t1", 0, false)
	f.refund(cur)
	f.want("t1", 1, false)
}

func testRevoke(t *testing.T, s store.GrantStore) {
	f := newGrantFixture(t, s)
	f.add("t1", 3, 0, 3)
	f.setLongTerm("t1", 0)
	f.add("t2", 1, 0, 1)
	noErr(t, "Revoke", s.Revoke(f.ctx, f.user, "t1"))
	f.wantMissing("t1")
	f.noGrant("t1")
	f.want("t2", 1, false)
	f.wantList(f.user, store.Grant{OpenID: f.user, TemplateID: "t2", Remaining: 1})
	noErr(t, "Revoke again", s.Revoke(f.ctx, f.user, "t1"))
	noErr(t, "Revoke of a missing user", s.Revoke(f.ctx, unique("nobody"), "t1"))
}

func testGetMissing(t *testing.T, s store.GrantStore) {
	f := newGrantFixture(t, s)
	f.wantMissing("t1")
	f.add("t1", 1, 0, 1)
	f.wantMissing("t2")
}

func testList(t *testing.T, s store.GrantStore) {
	f := newGrantFixture(t, s)
	other := unique("other")
	f.add("t1", 2, 0, 2)
	f.setLongTerm("t2", 0)
	f.add("t3", 1, 0, 1)
	f.consume("t3", store.OneTime)
	n, err := s.AddOneTime(f.ctx, other, "t1", 5, 0)
	noErr(t, "AddOneTime(other)", err)
	if n != 5 {
		t.Fatalf("AddOneTime(other) = %d, want 5", n)
	}
	f.wantList(f.user,
		store.Grant{OpenID: f.user, TemplateID: "t1", Remaining: 2},
		store.Grant{OpenID: f.user, TemplateID: "t2", LongTerm: true},
		store.Grant{OpenID: f.user, TemplateID: "t3"},
	)
	f.wantList(other, store.Grant{OpenID: other, TemplateID: "t1", Remaining: 5})
	f.wantList(unique("nobody"))
}

func testDeleteUser(t *testing.T, s store.GrantStore) {
	f := newGrantFixture(t, s)
	other := unique("other")
	f.add("t1", 2, 0, 2)
	f.setLongTerm("t2", 0)
	if _, err := s.AddOneTime(f.ctx, other, "t1", 1, 0); err != nil {
		t.Fatalf("AddOneTime(other): %v", err)
	}
	noErr(t, "DeleteUser", s.DeleteUser(f.ctx, f.user))
	f.wantMissing("t1")
	f.wantMissing("t2")
	f.noGrant("t2")
	f.wantList(f.user)
	f.wantList(other, store.Grant{OpenID: other, TemplateID: "t1", Remaining: 1})
	noErr(t, "DeleteUser again", s.DeleteUser(f.ctx, f.user))
	// The user can grant again afterwards.
	f.add("t1", 1, 0, 1)
	f.want("t1", 1, false)
}
