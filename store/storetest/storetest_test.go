package storetest_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/wxsub/wxsub/store"
	"github.com/wxsub/wxsub/store/memory"
	"github.com/wxsub/wxsub/store/storetest"
)

// brokenEnv names the mutation TestBrokenStore runs the suite against.
const brokenEnv = "WXSUB_STORETEST_BROKEN"

// broken is a memory store with one deliberate bug, picked by name.
type broken struct {
	*memory.Store
	bug string
}

func (b *broken) AddOneTime(ctx context.Context, openID, templateID string, n int64, ttl time.Duration) (int64, error) {
	if b.bug == "ttl-ignored" {
		ttl = 0
	}
	return b.Store.AddOneTime(ctx, openID, templateID, n, ttl)
}

func (b *broken) Consume(ctx context.Context, openID, templateID string) (store.Receipt, error) {
	if b.bug == "context-ignored" {
		ctx = context.Background()
	}
	r, err := b.Store.Consume(ctx, openID, templateID)
	if b.bug == "consume-below-zero" && errors.Is(err, store.ErrNoGrant) {
		return store.Receipt{OpenID: openID, TemplateID: templateID, Kind: store.OneTime, Generation: "x"}, nil
	}
	return r, err
}

func (b *broken) Refund(ctx context.Context, r store.Receipt) error {
	switch b.bug {
	case "refund-resurrects":
		_, err := b.Store.AddOneTime(ctx, r.OpenID, r.TemplateID, 1, 0)
		return err
	case "refund-ignores-generation":
		if g, err := b.Store.Get(ctx, r.OpenID, r.TemplateID); err == nil && g.OpenID != "" {
			_, err = b.Store.AddOneTime(ctx, r.OpenID, r.TemplateID, 1, 0)
			return err
		}
		return nil
	}
	return b.Store.Refund(ctx, r)
}

func (b *broken) Revoke(ctx context.Context, openID, templateID string) error {
	g, _ := b.Store.Get(ctx, openID, templateID)
	if err := b.Store.Revoke(ctx, openID, templateID); err != nil {
		return err
	}
	if b.bug == "revoke-keeps-long-term" && g.LongTerm {
		return b.Store.SetLongTerm(ctx, openID, templateID, 0)
	}
	return nil
}

func (b *broken) ConsumeOnce(ctx context.Context, opKey string, opTTL time.Duration, openID, templateID string) (store.Receipt, store.Settlement, error) {
	if b.bug == "consume-once-repeats" {
		// Consume on every call, as if the operation key were not checked.
		r, err := b.Store.Consume(ctx, openID, templateID)
		r.Op = opKey
		return r, store.Unsettled, err
	}
	return b.Store.ConsumeOnce(ctx, opKey, opTTL, openID, templateID)
}

func (b *broken) Settle(ctx context.Context, r store.Receipt, how store.Settlement) (store.Settlement, error) {
	switch {
	case b.bug == "settle-refunds-again" && how == store.Refunded:
		// Give the grant back on every Settle(Refunded), settled or not.
		if _, prev, err := b.Store.LookupReceipt(ctx, r.OpenID, r.Op); err == nil && prev == store.Refunded {
			plain := r
			plain.Op = ""
			return store.Refunded, b.Store.Refund(ctx, plain)
		}
	case b.bug == "settle-resurrects" && how == store.Refunded && r.Kind == store.OneTime:
		// Refund into whatever record the user has now.
		st, err := b.Store.Settle(ctx, r, store.Kept)
		if err != nil || st != store.Kept {
			return st, err
		}
		_, err = b.Store.AddOneTime(ctx, r.OpenID, r.TemplateID, 1, 0)
		return store.Refunded, err
	}
	return b.Store.Settle(ctx, r, how)
}

func (b *broken) InvalidateToken(ctx context.Context, key, accessToken string) error {
	if b.bug == "invalidate-any" {
		if t, err := b.Store.GetToken(ctx, key); err == nil {
			accessToken = t.AccessToken
		}
	}
	return b.Store.InvalidateToken(ctx, key, accessToken)
}

func (b *broken) AcquireLease(ctx context.Context, key string, ttl time.Duration) (store.Lease, error) {
	l, err := b.Store.AcquireLease(ctx, key, ttl)
	if b.bug == "lease-shared" && errors.Is(err, store.ErrLeaseHeld) {
		return store.Lease{Key: key, ID: "shared"}, nil
	}
	return l, err
}

func (b *broken) Begin(ctx context.Context, key string, lease time.Duration) (store.DedupeState, error) {
	st, err := b.Store.Begin(ctx, key, lease)
	if b.bug == "begin-always-new" && st == store.DedupeInFlight {
		return store.DedupeNew, err
	}
	return st, err
}

func (b *broken) Abort(ctx context.Context, key string) error {
	if b.bug == "abort-erases-done" {
		// Forget the key whatever its state: wait out a tiny Done.
		if err := b.Store.Done(ctx, key, time.Millisecond); err != nil {
			return err
		}
		time.Sleep(2 * time.Millisecond)
		return nil
	}
	return b.Store.Abort(ctx, key)
}

func (b *broken) Extend(ctx context.Context, key string, lease time.Duration) (store.DedupeState, error) {
	if b.bug == "extend-revives" {
		// Extend an expired or missing claim too, claiming the key.
		st, err := b.Store.Extend(ctx, key, lease)
		if err == nil && st == store.DedupeNew {
			_, err = b.Store.Begin(ctx, key, lease)
			return store.DedupeInFlight, err
		}
		return st, err
	}
	if b.bug == "extend-resets-done" {
		// Give a done key the lease as its new expiry.
		st, err := b.Store.Extend(ctx, key, lease)
		if err == nil && st == store.DedupeDone {
			err = b.Store.Done(ctx, key, lease)
		}
		return st, err
	}
	return b.Store.Extend(ctx, key, lease)
}

// TestBrokenStore runs the suite against the mutation named by brokenEnv.
// It is a helper for TestSuiteCatchesBugs and skips when run directly.
func TestBrokenStore(t *testing.T) {
	bug := os.Getenv(brokenEnv)
	if bug == "" {
		t.Skip("helper for TestSuiteCatchesBugs")
	}
	newBroken := func(*testing.T) *broken { return &broken{Store: memory.New(), bug: bug} }
	t.Run("Grant", func(t *testing.T) {
		storetest.RunGrantStore(t, func(t *testing.T) store.GrantStore { return newBroken(t) })
	})
	t.Run("Token", func(t *testing.T) {
		storetest.RunTokenStore(t, func(t *testing.T) store.TokenStore { return newBroken(t) })
	})
	t.Run("Dedupe", func(t *testing.T) {
		storetest.RunDedupeStore(t, func(t *testing.T) store.DedupeStore { return newBroken(t) })
	})
}

// TestSuiteCatchesBugs checks that the suite fails each deliberately
// broken store in the subtest written to catch that bug.
func TestSuiteCatchesBugs(t *testing.T) {
	if os.Getenv(brokenEnv) != "" {
		t.Skip("running as a helper")
	}
	tests := []struct{ bug, subtest string }{
		{"consume-below-zero", "Grant/AddAndConsume"},
		{"context-ignored", "Grant/CancelledContext"},
		{"ttl-ignored", "Grant/Expiry"},
		{"refund-resurrects", "Grant/RefundAfterRevoke"},
		{"refund-ignores-generation", "Grant/RegrantNewGeneration"},
		{"revoke-keeps-long-term", "Grant/Revoke"},
		{"invalidate-any", "Token/Invalidate"},
		{"lease-shared", "Token/LeaseRace"},
		{"begin-always-new", "Dedupe/Race"},
		{"abort-erases-done", "Dedupe/AbortAfterDone"},
		{"extend-revives", "Dedupe/ExtendStates"},
		{"extend-resets-done", "Dedupe/ExtendLeavesDone"},
		{"consume-once-repeats", "Grant/Receipt/ConsumeOnce"},
		{"settle-refunds-again", "Grant/Receipt/SettleRefunded"},
		{"settle-resurrects", "Grant/Receipt/RefundAfterRevoke"},
	}
	for _, tc := range tests {
		t.Run(tc.bug, func(t *testing.T) {
			group, name, _ := strings.Cut(tc.subtest, "/")
			pattern := "^TestBrokenStore$/^" + group + "$/^" + name + "$"
			cmd := exec.Command(os.Args[0], "-test.run="+pattern, "-test.count=1")
			cmd.Env = append(os.Environ(), brokenEnv+"="+tc.bug)
			out, err := cmd.CombinedOutput()
			want := "--- FAIL: TestBrokenStore/" + tc.subtest + " "
			if err == nil || !strings.Contains(string(out), want) {
				t.Fatalf("suite did not fail %s for bug %q (exit: %v); output:\n%s", tc.subtest, tc.bug, err, out)
			}
		})
	}
}
