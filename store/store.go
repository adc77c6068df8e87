// Package store defines what wxsub remembers: the grants users gave per
// message template, the access token shared by all instances of an app, and
// the keys of pushes already handled.
//
// The callback route (package middleware) and the sender (package sender)
// both work against these interfaces. Package store/memory implements them
// in process with go-cache; package store/redis implements them on Redis so
// that a fleet of instances shares one state. A custom implementation should
// pass the conformance suite in package store/storetest.
//
// All methods take a context first and must honour its deadline: a store
// that cannot answer in time returns an error wrapping ctx.Err().
package store

import (
	"context"
	"errors"
	"time"
)

// Sentinel errors returned by stores. Test for them with errors.Is.
var (
	// ErrNoGrant means the user holds no usable grant for the template:
	// no one-time grant left, no long-term grant, or the grant expired or
	// was revoked.
	ErrNoGrant = errors.New("wxsub/store: no grant for this user and template")

	// ErrNotFound means the requested record does not exist (or expired).
	ErrNotFound = errors.New("wxsub/store: not found")

	// ErrLeaseHeld means another holder owns the lease.
	ErrLeaseHeld = errors.New("wxsub/store: lease held by another holder")

	// ErrInvalidArgument means a caller passed an empty key, a negative
	// count or a similar argument no store accepts.
	ErrInvalidArgument = errors.New("wxsub/store: invalid argument")
)

// GrantKind tells which sort of grant a Receipt was taken from.
type GrantKind uint8

const (
	// OneTime is a counted grant: each accept of the popup allows one send.
	OneTime GrantKind = iota + 1
	// LongTerm is a flag: one accept allows sends until the user rejects.
	LongTerm
)

// String returns "one-time" or "long-term".
func (k GrantKind) String() string {
	switch k {
	case OneTime:
		return "one-time"
	case LongTerm:
		return "long-term"
	}
	return "unknown"
}

// Grant is what one user granted for one template.
type Grant struct {
	OpenID     string
	TemplateID string
	// Remaining is the number of one-time sends left (0 or more).
	Remaining int64
	// LongTerm reports an active long-term grant.
	LongTerm bool
	// ExpiresAt is when the record expires; the zero time means never.
	ExpiresAt time.Time
}

// Receipt records one consumed grant, so that the sender can give it back
// with Refund when WeChat did not deliver the message.
//
// Generation identifies the grant record the receipt was taken from: a
// record that was revoked, expired or deleted and then granted anew has a
// new generation, so a late Refund never resurrects a permission the user
// withdrew. Callers treat a Receipt as opaque.
type Receipt struct {
	OpenID     string
	TemplateID string
	Kind       GrantKind
	Generation string
	// Op is the operation key of a receipt taken with
	// ReceiptStore.ConsumeOnce, and empty for one taken with Consume.
	Op string
}

// GrantStore records which user granted which template.
//
// One-time grants are a counter and long-term grants a flag, both kept in
// one record per (openid, template id). Consume prefers a long-term grant
// (which it does not use up) over a one-time one. Every method is atomic
// with respect to every other, across goroutines and, for shared stores,
// across processes: N concurrent Consume calls on a record holding k
// one-time grants succeed exactly min(N, k) times.
type GrantStore interface {
	// AddOneTime adds n (≥ 1) one-time grants and returns how many the
	// record now holds. ttl > 0 makes the record expire no earlier than
	// ttl from now; ttl == 0 means the grants do not expire (WeChat's
	// one-time grants never do). A record once made non-expiring stays so.
	AddOneTime(ctx context.Context, openID, templateID string, n int64, ttl time.Duration) (int64, error)

	// SetLongTerm records a long-term grant; ttl has AddOneTime's meaning.
	SetLongTerm(ctx context.Context, openID, templateID string, ttl time.Duration) error

	// Consume takes one grant for a send. It returns ErrNoGrant when there
	// is none, and never lets the count go below zero.
	Consume(ctx context.Context, openID, templateID string) (Receipt, error)

	// Refund gives back a grant taken by Consume when the message was not
	// delivered. It is a no-op for long-term receipts and for records that
	// were revoked, expired or deleted since the receipt was issued. Call it
	// at most once per receipt: stores do not track individual receipts, so
	// a second Refund of one receipt gives back a second grant.
	Refund(ctx context.Context, r Receipt) error

	// Revoke removes every grant (one-time and long-term) the user holds
	// for the template, as after a reject or WeChat's errcode 43101.
	Revoke(ctx context.Context, openID, templateID string) error

	// Get returns the user's grant for one template. A missing record is
	// not an error: it returns a Grant with nothing remaining.
	Get(ctx context.Context, openID, templateID string) (Grant, error)

	// List returns the user's records, in no particular order, including
	// ones with nothing remaining that have not been revoked.
	List(ctx context.Context, openID string) ([]Grant, error)

	// DeleteUser removes everything stored for the user.
	DeleteUser(ctx context.Context, openID string) error
}

// Token is an access token and the moment WeChat stops accepting it.
type Token struct {
	AccessToken string
	ExpiresAt   time.Time
}

// Valid reports whether the token is set and has more than margin left at now.
func (t Token) Valid(now time.Time, margin time.Duration) bool {
	return t.AccessToken != "" && now.Add(margin).Before(t.ExpiresAt)
}

// Lease is held by the one instance allowed to refresh a token. It expires
// on its own after its TTL, so a crashed holder cannot block the others.
type Lease struct {
	Key string
	// ID is unique per acquisition; only its holder can release the lease.
	ID string
}

// TokenStore shares an app's access token between instances, and lets
// exactly one of them refresh it at a time.
type TokenStore interface {
	// GetToken returns the stored token for key (usually the appid), or
	// ErrNotFound when there is none or it expired.
	GetToken(ctx context.Context, key string) (Token, error)

	// SetToken stores the token until its ExpiresAt.
	SetToken(ctx context.Context, key string, t Token) error

	// InvalidateToken deletes the stored token only if it is still
	// accessToken, so that a burst of callers failing with one stale token
	// causes one refresh, not one per caller.
	InvalidateToken(ctx context.Context, key, accessToken string) error

	// AcquireLease takes the refresh lease for key for at most ttl (> 0).
	// It returns ErrLeaseHeld when another holder has it.
	AcquireLease(ctx context.Context, key string, ttl time.Duration) (Lease, error)

	// ReleaseLease gives the lease back early. Releasing a lease that
	// expired or was taken over by another holder is a no-op.
	ReleaseLease(ctx context.Context, l Lease) error
}

// DedupeState is what Begin found for a key.
type DedupeState uint8

const (
	// DedupeNew means the caller now owns the key and must handle the push,
	// then call Done (success) or Abort (failure, so a retry runs again).
	DedupeNew DedupeState = iota + 1
	// DedupeInFlight means another handler owns the key and has not
	// finished; the caller should answer so that WeChat retries later.
	DedupeInFlight
	// DedupeDone means the push was handled successfully already.
	DedupeDone
)

// String returns "new", "in-flight" or "done".
func (s DedupeState) String() string {
	switch s {
	case DedupeNew:
		return "new"
	case DedupeInFlight:
		return "in-flight"
	case DedupeDone:
		return "done"
	}
	return "unknown"
}

// DedupeStore remembers which pushes were handled, so that WeChat's retries
// (and the same push reaching two instances) run the hooks once.
type DedupeStore interface {
	// Begin atomically claims key for lease (> 0; set-if-absent). The claim
	// expires on its own after lease, so a crashed handler does not block
	// retries forever. Callers keep lease longer than their handling takes:
	// a claim carries no owner, so a handler whose lease ran out would, on
	// Abort, drop the claim of the next handler of the same key.
	Begin(ctx context.Context, key string, lease time.Duration) (DedupeState, error)

	// Done marks key as handled for ttl (> 0).
	Done(ctx context.Context, key string, ttl time.Duration) error

	// Abort drops the claim on key so that the next delivery runs again.
	Abort(ctx context.Context, key string) error
}

// DedupeExtender is a DedupeStore that can lengthen a claim. The callback
// route uses it in async mode, where a push may wait in a queue after its
// claim was taken: a claim about to run out is extended while it is surely
// still the route's own, rather than dropped and taken again, which would
// leave a moment in which another delivery could take the push.
type DedupeExtender interface {
	DedupeStore

	// Extend atomically sets the claim on key to expire lease (> 0) from
	// now if key is in flight, and reports what it found: DedupeInFlight
	// (extended), DedupeDone (handled already; unchanged) or DedupeNew (no
	// live claim; nothing is claimed). A claim carries no owner, so callers
	// extend only a claim whose lease cannot have run out yet.
	Extend(ctx context.Context, key string, lease time.Duration) (DedupeState, error)
}

// GrantChange is a change ApplyOnce makes to a grant record.
type GrantChange uint8

const (
	// AddOneTimeGrant adds one one-time grant.
	AddOneTimeGrant GrantChange = iota + 1
	// SetLongTermGrant records a long-term grant.
	SetLongTermGrant
	// RevokeGrant removes the record, as Revoke does.
	RevokeGrant
)

// String returns "add-one-time", "set-long-term" or "revoke".
func (c GrantChange) String() string {
	switch c {
	case AddOneTimeGrant:
		return "add-one-time"
	case SetLongTermGrant:
		return "set-long-term"
	case RevokeGrant:
		return "revoke"
	}
	return "unknown"
}

// OnceGrantStore is a GrantStore that can make a grant change exactly once
// per operation key. The callback route uses it to book the grants of a
// push: if a store call fails or its reply is lost, WeChat's retry calls
// again with the same key, and the change is not made twice. Without it the
// route falls back to DedupeStore claims around plain calls, which cannot
// tell "applied, reply lost" from "not applied".
type OnceGrantStore interface {
	GrantStore

	// ApplyOnce makes change to the record of (openID, templateID), with
	// ttl as in AddOneTime, unless a change with the same opKey for this
	// user was made within the last opTTL (> 0). The change and the record
	// of opKey are one atomic step. It reports whether it made the change
	// now (false: it had been made before).
	ApplyOnce(ctx context.Context, opKey string, opTTL time.Duration, openID, templateID string, change GrantChange, ttl time.Duration) (bool, error)
}

// Settlement is what became of a grant a send consumed.
type Settlement uint8

const (
	// Unsettled means the receipt was not settled yet: its send is
	// scheduled, in flight, or its outcome is not known.
	Unsettled Settlement = iota
	// Kept means the message was delivered: the grant stays consumed.
	Kept
	// Refunded means the grant was given back, as Refund gives it back:
	// the message was not delivered, or its send was cancelled.
	Refunded
	// Revoked means the user refused (WeChat's errcode 43101): the record
	// was removed, as Revoke removes it.
	Revoked
)

// String returns "unsettled", "kept", "refunded" or "revoked".
func (s Settlement) String() string {
	switch s {
	case Unsettled:
		return "unsettled"
	case Kept:
		return "kept"
	case Refunded:
		return "refunded"
	case Revoked:
		return "revoked"
	}
	return "unknown"
}

// ReceiptStore is a GrantStore whose consumes and settlements happen
// exactly once per operation key, so that a caller whose reply was lost
// (the connection dropped after the store acted) can call again and learn
// what happened instead of losing or doubling a grant.
//
// The sender uses it for every send: a consume whose reply is lost is
// asked again under the same key, and a refund that failed is retried
// without the risk of giving a grant back twice. Scheduled sends (package
// sender/outbox) use it to reserve a grant when a message is scheduled and
// to settle it when the message is sent or cancelled, from any instance.
//
// An operation key names one operation of one user: the same opKey used
// for two users names two operations.
type ReceiptStore interface {
	GrantStore

	// ConsumeOnce takes one grant as Consume does and records the receipt
	// (with Op set to opKey) under (openID, opKey) for opTTL (> 0). A later
	// call with the same openID and opKey within opTTL consumes nothing and
	// returns the recorded receipt and its settlement so far. ErrNoGrant is
	// not recorded: a call after it looks for a grant again. A repeated
	// call naming another template than the recorded receipt fails with
	// ErrInvalidArgument and changes nothing.
	ConsumeOnce(ctx context.Context, opKey string, opTTL time.Duration, openID, templateID string) (Receipt, Settlement, error)

	// Settle settles a receipt taken by ConsumeOnce, once: Kept changes no
	// record, Refunded gives the grant back as Refund does, Revoked removes
	// the record as Revoke does. It returns the settlement in force: s when
	// this call settled the receipt, or the earlier settlement (changing
	// nothing) when the receipt was settled before. s must not be
	// Unsettled. A receipt whose operation record is gone (its opTTL ran
	// out, or the user was deleted) returns ErrNotFound and changes nothing.
	Settle(ctx context.Context, r Receipt, s Settlement) (Settlement, error)

	// LookupReceipt returns the receipt recorded under (openID, opKey) and
	// its settlement, or ErrNotFound.
	LookupReceipt(ctx context.Context, openID, opKey string) (Receipt, Settlement, error)
}
