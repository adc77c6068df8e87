package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/wxsub/wxsub/store"
)

func testGrantInvalidArguments(t *testing.T, s store.GrantStore) {
	f := newGrantFixture(t, s)
	u := f.user
	receipt := store.Receipt{OpenID: u, TemplateID: "t1", Kind: store.OneTime, Generation: "g"}
	withReceipt := func(edit func(*store.Receipt)) store.Receipt {
		r := receipt
		edit(&r)
		return r
	}
	tests := []struct {
		name string
		call func(ctx context.Context) error
	}{
		{"AddOneTime empty openid", func(ctx context.Context) error { _, err := s.AddOneTime(ctx, "", "t1", 1, 0); return err }},
		{"AddOneTime empty template", func(ctx context.Context) error { _, err := s.AddOneTime(ctx, u, "", 1, 0); return err }},
		{"AddOneTime n=0", func(ctx context.Context) error { _, err := s.AddOneTime(ctx, u, "t1", 0, 0); return err }},
		{"AddOneTime n<0", func(ctx context.Context) error { _, err := s.AddOneTime(ctx, u, "t1", -3, 0); return err }},
		{"AddOneTime ttl<0", func(ctx context.Context) error { _, err := s.AddOneTime(ctx, u, "t1", 1, -time.Second); return err }},
		{"SetLongTerm empty openid", func(ctx context.Context) error { return s.SetLongTerm(ctx, "", "t1", 0) }},
		{"SetLongTerm empty template", func(ctx context.Context) error { return s.SetLongTerm(ctx, u, "", 0) }},
		{"SetLongTerm ttl<0", func(ctx context.Context) error { return s.SetLongTerm(ctx, u, "t1", -time.Second) }},
		{"Consume empty openid", func(ctx context.Context) error { _, err := s.Consume(ctx, "", "t1"); return err }},
		{"Consume empty template", func(ctx context.Context) error { _, err := s.Consume(ctx, u, ""); return err }},
		{"Refund empty openid", func(ctx context.Context) error {
			return s.Refund(ctx, withReceipt(func(r *store.Receipt) { r.OpenID = "" }))
		}},
		{"Refund empty template", func(ctx context.Context) error {
			return s.Refund(ctx, withReceipt(func(r *store.Receipt) { r.TemplateID = "" }))
		}},
		{"Refund unknown kind", func(ctx context.Context) error {
			return s.Refund(ctx, withReceipt(func(r *store.Receipt) { r.Kind = 0 }))
		}},
		{"Refund zero receipt", func(ctx context.Context) error { return s.Refund(ctx, store.Receipt{}) }},
		{"Revoke empty openid", func(ctx context.Context) error { return s.Revoke(ctx, "", "t1") }},
		{"Revoke empty template", func(ctx context.Context) error { return s.Revoke(ctx, u, "") }},
		{"Get empty openid", func(ctx context.Context) error { _, err := s.Get(ctx, "", "t1"); return err }},
		{"Get empty template", func(ctx context.Context) error { _, err := s.Get(ctx, u, ""); return err }},
		{"List empty openid", func(ctx context.Context) error { _, err := s.List(ctx, ""); return err }},
		{"DeleteUser empty openid", func(ctx context.Context) error { return s.DeleteUser(ctx, "") }},
	}
	for _, tc := range tests {
		wantErrIs(t, tc.name, tc.call(f.ctx), store.ErrInvalidArgument)
	}
	// Nothing was stored by the rejected calls.
	f.wantMissing("t1")
	f.wantList(u)
}

func testGrantCancelledContext(t *testing.T, s store.GrantStore) {
	f := newGrantFixture(t, s)
	f.add("t1", 1, 0, 1)
	r := f.consume("t1", store.OneTime)
	f.add("t1", 1, 0, 1)
	u := f.user
	tests := []struct {
		name string
		call func(ctx context.Context) error
	}{
		{"AddOneTime", func(ctx context.Context) error { _, err := s.AddOneTime(ctx, u, "t1", 1, 0); return err }},
		{"SetLongTerm", func(ctx context.Context) error { return s.SetLongTerm(ctx, u, "t1", 0) }},
		{"Consume", func(ctx context.Context) error { _, err := s.Consume(ctx, u, "t1"); return err }},
		{"Refund", func(ctx context.Context) error { return s.Refund(ctx, r) }},
		{"Revoke", func(ctx context.Context) error { return s.Revoke(ctx, u, "t1") }},
		{"Get", func(ctx context.Context) error { _, err := s.Get(ctx, u, "t1"); return err }},
		{"List", func(ctx context.Context) error { _, err := s.List(ctx, u); return err }},
		{"DeleteUser", func(ctx context.Context) error { return s.DeleteUser(ctx, u) }},
	}
	ctx := cancelledContext()
	for _, tc := range tests {
		wantErrIs(t, tc.name, tc.call(ctx), context.Canceled)
	}
	// None of the cancelled calls changed the record.
	f.want("t1", 1, false)
}
