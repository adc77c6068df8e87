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
// grant exactly once even when a reply is lost.
//
// A decorator must not hide the optional methods of what it wraps: Audit
// returns an AuditedOnce, which forwards ApplyOnce, when the wrapped store
// has it, and a plain Audited otherwise.
package customstore

import (
	"context"
	"time"

	"github.com/wxsub/wxsub/store"
)

// Change is one change of a user's grant, as reported by Audited.
type Change struct {
	// Op is "add", "long-term", "consume", "refund", "revoke" or
	// "delete-user"; a change made through ApplyOnce is reported with the
	// op it amounts to.
	Op         string
	OpenID     string
	TemplateID string
	Err        error
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
	a.Report(ctx, Change{"add", openID, templateID, err})
	return left, err
}

// SetLongTerm implements store.GrantStore.
func (a Audited) SetLongTerm(ctx context.Context, openID, templateID string, ttl time.Duration) error {
	err := a.Next.SetLongTerm(ctx, openID, templateID, ttl)
	a.Report(ctx, Change{"long-term", openID, templateID, err})
	return err
}

// Consume implements store.GrantStore.
func (a Audited) Consume(ctx context.Context, openID, templateID string) (store.Receipt, error) {
	r, err := a.Next.Consume(ctx, openID, templateID)
	a.Report(ctx, Change{"consume", openID, templateID, err})
	return r, err
}

// Refund implements store.GrantStore.
func (a Audited) Refund(ctx context.Context, r store.Receipt) error {
	err := a.Next.Refund(ctx, r)
	a.Report(ctx, Change{"refund", r.OpenID, r.TemplateID, err})
	return err
}

// Revoke implements store.GrantStore.
func (a Audited) Revoke(ctx context.Context, openID, templateID string) error {
	err := a.Next.Revoke(ctx, openID, templateID)
	a.Report(ctx, Change{"revoke", openID, templateID, err})
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
	a.Report(ctx, Change{"delete-user", openID, "", err})
	return err
}

// Audit returns next wrapped so that report is called after each change:
// an AuditedOnce when next implements store.OnceGrantStore, so that the
// route keeps booking grants exactly once through it, else an Audited.
func Audit(next store.GrantStore, report func(ctx context.Context, c Change)) store.GrantStore {
	a := Audited{Next: next, Report: report}
	if _, ok := next.(store.OnceGrantStore); ok {
		return AuditedOnce{a}
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
	applied, err := a.Next.(store.OnceGrantStore).ApplyOnce(ctx, opKey, opTTL, openID, templateID, change, ttl)
	if applied || err != nil {
		a.Report(ctx, Change{onceOp(change), openID, templateID, err})
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
