// Package customstore shows the pattern for bringing your own store: any
// type with the methods of store.GrantStore (or TokenStore, DedupeStore)
// plugs into the callback route and the sender, and proves itself with the
// conformance suite in store/storetest (see customstore_test.go).
//
// Audited wraps any GrantStore and reports every change of a user's
// permissions to a callback: a decorator in the spirit of net/http
// middleware. A table in your own database works the same way: implement the
// eight methods on top of it, keeping Consume atomic (for SQL, an
// "UPDATE ... SET n = n - 1 WHERE n > 0 RETURNING generation" in one
// statement) and giving each record a generation that changes when it is
// revoked, so a late Refund cannot bring a withdrawn grant back. Add
// ApplyOnce (store.OnceGrantStore) too, checking an operation key and
// making the change in one transaction, and the callback route books each
// grant exactly once even when a reply is lost; ConsumeOnce, Settle and
// LookupReceipt (store.ReceiptStore), keeping each receipt in a row keyed
// by (openid, operation key) written in the consume's transaction, do the
// same for sends.
//
// A decorator must not hide the optional methods of what it wraps: Audit
// returns a type that forwards ApplyOnce (AuditedOnce), the ReceiptStore
// methods (AuditedReceipts) or both (AuditedOnceReceipts) when the wrapped
// store has them, and a plain Audited otherwise.
package customstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/wxsub/wxsub/store"
)

// Change is one change of a user's grant, as reported by Audited.
type Change struct {
	// Op is "add", "long-term", "consume", "refund", "revoke" or
	// "delete-user"; a change made through ApplyOnce, ConsumeOnce or
	// Settle is reported with the op it amounts to.
	Op         string
	OpenID     string
	TemplateID string
	// OpKey is the operation key of a change made through ApplyOnce,
	// ConsumeOnce or Settle, and empty otherwise.
	OpKey string
	Err   error
}

// Audited is a GrantStore that calls Report after each change Next made
// (or failed to make). Reads pass through unreported.
type Audited struct {
	Next   store.GrantStore
	Report func(ctx context.Context, c Change)
}

var _ store.GrantStore = Audited{}

// AddOneTime implements store.GrantStore.
func (a Audited) AddOneTime(ctx context.Context, openID, templateID string, n int64, ttl time.Duration) (int64, error) {
	left, err := a.Next.AddOneTime(ctx, openID, templateID, n, ttl)
	a.Report(ctx, Change{Op: "add", OpenID: openID, TemplateID: templateID, Err: err})
	return left, err
}

// SetLongTerm implements store.GrantStore.
func (a Audited) SetLongTerm(ctx context.Context, openID, templateID string, ttl time.Duration) error {
	err := a.Next.SetLongTerm(ctx, openID, templateID, ttl)
	a.Report(ctx, Change{Op: "long-term", OpenID: openID, TemplateID: templateID, Err: err})
	return err
}

// Consume implements store.GrantStore.
func (a Audited) Consume(ctx context.Context, openID, templateID string) (store.Receipt, error) {
	r, err := a.Next.Consume(ctx, openID, templateID)
	a.Report(ctx, Change{Op: "consume", OpenID: openID, TemplateID: templateID, Err: err})
	return r, err
}

// Refund implements store.GrantStore.
func (a Audited) Refund(ctx context.Context, r store.Receipt) error {
	err := a.Next.Refund(ctx, r)
	a.Report(ctx, Change{Op: "refund", OpenID: r.OpenID, TemplateID: r.TemplateID, Err: err})
	return err
}

// Revoke implements store.GrantStore.
func (a Audited) Revoke(ctx context.Context, openID, templateID string) error {
	err := a.Next.Revoke(ctx, openID, templateID)
	a.Report(ctx, Change{Op: "revoke", OpenID: openID, TemplateID: templateID, Err: err})
	return err
}

// Get implements store.GrantStore.
func (a Audited) Get(ctx context.Context, openID, templateID string) (store.Grant, error) {
	return a.Next.Get(ctx, openID, templateID)
}

// List implements store.GrantStore.
func (a Audited) List(ctx context.Context, openID string) ([]store.Grant, error) {
	return a.Next.List(ctx, openID)
}

// DeleteUser implements store.GrantStore.
func (a Audited) DeleteUser(ctx context.Context, openID string) error {
	err := a.Next.DeleteUser(ctx, openID)
	a.Report(ctx, Change{Op: "delete-user", OpenID: openID, Err: err})
	return err
}

// Audit returns next wrapped so that report is called after each change,
// keeping the optional methods next has, so that the route keeps booking
// grants and the sender keeps consuming them exactly once through it: an
// AuditedOnceReceipts when next implements store.OnceGrantStore and
// store.ReceiptStore, an AuditedOnce or an AuditedReceipts when it
// implements one of them, else an Audited.
func Audit(next store.GrantStore, report func(ctx context.Context, c Change)) store.GrantStore {
	a := Audited{Next: next, Report: report}
	_, once := next.(store.OnceGrantStore)
	_, receipts := next.(store.ReceiptStore)
	switch {
	case once && receipts:
		return AuditedOnceReceipts{AuditedOnce{a}}
	case once:
		return AuditedOnce{a}
	case receipts:
		return AuditedReceipts{a}
	}
	return a
}

// AuditedOnce is an Audited whose Next implements store.OnceGrantStore
// (build it with Audit). It forwards ApplyOnce too, and reports a change
// it made; a repeated operation key changes nothing and is not reported.
type AuditedOnce struct {
	Audited
}

var _ store.OnceGrantStore = AuditedOnce{}

// ApplyOnce implements store.OnceGrantStore.
func (a AuditedOnce) ApplyOnce(ctx context.Context, opKey string, opTTL time.Duration, openID, templateID string,
	change store.GrantChange, ttl time.Duration) (bool, error) {
	once, ok := a.Next.(store.OnceGrantStore)
	if !ok { // a hand-built AuditedOnce: an error, not a panic
		return false, fmt.Errorf("customstore: %T does not implement store.OnceGrantStore: %w", a.Next, errors.ErrUnsupported)
	}
	applied, err := once.ApplyOnce(ctx, opKey, opTTL, openID, templateID, change, ttl)
	if applied || err != nil {
		a.Report(ctx, Change{Op: onceOp(change), OpenID: openID, TemplateID: templateID, OpKey: opKey, Err: err})
	}
	return applied, err
}

// onceOp is the Op of a change made through ApplyOnce.
func onceOp(c store.GrantChange) string {
	switch c {
	case store.AddOneTimeGrant:
		return "add"
	case store.SetLongTermGrant:
		return "long-term"
	case store.RevokeGrant:
		return "revoke"
	}
	return c.String()
}

// AuditedReceipts is an Audited whose Next implements store.ReceiptStore
// (build it with Audit). It forwards ConsumeOnce, Settle and LookupReceipt
// too. ConsumeOnce is reported as "consume", Settle as "refund" or
// "revoke" (Kept changes no record and is not reported), each with its
// OpKey. A Settle that returns another settlement than it was asked for
// changed nothing and is not reported; otherwise the store does not say
// whether the call acted or found its operation done already (a retry
// after a lost reply), so a repeated operation key may be reported again:
// an audit log that must not count it twice dedupes on (OpenID, OpKey, Op).
type AuditedReceipts struct {
	Audited
}

var _ store.ReceiptStore = AuditedReceipts{}

// ConsumeOnce implements store.ReceiptStore.
func (a AuditedReceipts) ConsumeOnce(ctx context.Context, opKey string, opTTL time.Duration, openID, templateID string) (store.Receipt, store.Settlement, error) {
	return a.consumeOnce(ctx, opKey, opTTL, openID, templateID)
}

// Settle implements store.ReceiptStore.
func (a AuditedReceipts) Settle(ctx context.Context, r store.Receipt, s store.Settlement) (store.Settlement, error) {
	return a.settle(ctx, r, s)
}

// LookupReceipt implements store.ReceiptStore.
func (a AuditedReceipts) LookupReceipt(ctx context.Context, openID, opKey string) (store.Receipt, store.Settlement, error) {
	return a.lookupReceipt(ctx, openID, opKey)
}

// AuditedOnceReceipts is an AuditedOnce whose Next implements
// store.ReceiptStore too (build it with Audit): it forwards and reports
// ApplyOnce as AuditedOnce does, and the ReceiptStore methods as
// AuditedReceipts does.
type AuditedOnceReceipts struct {
	AuditedOnce
}

var (
	_ store.OnceGrantStore = AuditedOnceReceipts{}
	_ store.ReceiptStore   = AuditedOnceReceipts{}
)

// ConsumeOnce implements store.ReceiptStore.
func (a AuditedOnceReceipts) ConsumeOnce(ctx context.Context, opKey string, opTTL time.Duration, openID, templateID string) (store.Receipt, store.Settlement, error) {
	return a.consumeOnce(ctx, opKey, opTTL, openID, templateID)
}

// Settle implements store.ReceiptStore.
func (a AuditedOnceReceipts) Settle(ctx context.Context, r store.Receipt, s store.Settlement) (store.Settlement, error) {
	return a.settle(ctx, r, s)
}

// LookupReceipt implements store.ReceiptStore.
func (a AuditedOnceReceipts) LookupReceipt(ctx context.Context, openID, opKey string) (store.Receipt, store.Settlement, error) {
	return a.lookupReceipt(ctx, openID, opKey)
}

// receipts returns a.Next as a store.ReceiptStore. Audit builds the types
// that call it only over one; a hand-built one over another store gets an
// error wrapping errors.ErrUnsupported, not a panic.
func (a Audited) receipts() (store.ReceiptStore, error) {
	if rs, ok := a.Next.(store.ReceiptStore); ok {
		return rs, nil
	}
	return nil, fmt.Errorf("customstore: %T does not implement store.ReceiptStore: %w", a.Next, errors.ErrUnsupported)
}

// consumeOnce, settle and lookupReceipt are the ReceiptStore methods of
// AuditedReceipts and AuditedOnceReceipts.
func (a Audited) consumeOnce(ctx context.Context, opKey string, opTTL time.Duration, openID, templateID string) (store.Receipt, store.Settlement, error) {
	rs, err := a.receipts()
	if err != nil {
		return store.Receipt{}, store.Unsettled, err
	}
	r, settled, err := rs.ConsumeOnce(ctx, opKey, opTTL, openID, templateID)
	a.Report(ctx, Change{Op: "consume", OpenID: openID, TemplateID: templateID, OpKey: opKey, Err: err})
	return r, settled, err
}

func (a Audited) lookupReceipt(ctx context.Context, openID, opKey string) (store.Receipt, store.Settlement, error) {
	rs, err := a.receipts()
	if err != nil {
		return store.Receipt{}, store.Unsettled, err
	}
	return rs.LookupReceipt(ctx, openID, opKey)
}

func (a Audited) settle(ctx context.Context, r store.Receipt, s store.Settlement) (store.Settlement, error) {
	rs, err := a.receipts()
	if err != nil {
		return store.Unsettled, err
	}
	settled, err := rs.Settle(ctx, r, s)
	if (s == store.Refunded || s == store.Revoked) && (settled == s || err != nil) {
		op := "refund"
		if s == store.Revoked {
			op = "revoke"
		}
		a.Report(ctx, Change{Op: op, OpenID: r.OpenID, TemplateID: r.TemplateID, OpKey: r.Op, Err: err})
	}
	return settled, err
}
