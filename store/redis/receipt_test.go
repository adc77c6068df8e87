package redis_test

import (
	"errors"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/wxsub/wxsub/internal/redistest"
	"github.com/wxsub/wxsub/store"
	wxredis "github.com/wxsub/wxsub/store/redis"
)

// TestReceiptKeyLayout pins the documented keys of a ConsumeOnce
// operation: a hash in the user's hash slot with the operation TTL, which
// Settle keeps, and the user's index of operation keys.
func TestReceiptKeyLayout(t *testing.T) {
	c, prefix := redistest.Client(t)
	s, err := wxredis.New(c, wxredis.WithPrefix(prefix))
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if _, err := s.AddOneTime(ctx, "oUser", "tmpl", 3, 0); err != nil {
		t.Fatal(err)
	}
	before := time.Now()
	r, _, err := s.ConsumeOnce(ctx, "push-1", time.Hour, "oUser", "tmpl")
	if err != nil {
		t.Fatal(err)
	}
	op := prefix + "receipt:{oUser}:push-1"
	idx := prefix + "receipts:{oUser}"
	if hashTag(op) != "oUser" || hashTag(idx) != "oUser" {
		t.Fatalf("hash tags %q and %q, want both oUser", hashTag(op), hashTag(idx))
	}
	h, err := c.HGetAll(ctx, op).Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(h) != 4 || h["t"] != "tmpl" || h["k"] != "1" || h["s"] != "0" || h["g"] != r.Generation {
		t.Fatalf("operation record %s = %v, want t=tmpl, k=1, s=0, g=%s", op, h, r.Generation)
	}
	pttl := func(key string) time.Duration {
		t.Helper()
		d, err := c.PTTL(ctx, key).Result()
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	if d := pttl(op); d <= 59*time.Minute || d > time.Hour {
		t.Fatalf("operation record PTTL = %v, want about 1h", d)
	}
	if d := pttl(idx); d <= 59*time.Minute || d > time.Hour+time.Millisecond {
		t.Fatalf("index PTTL = %v, want about 1h", d)
	}
	zs, err := c.ZRangeWithScores(ctx, idx, 0, -1).Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(zs) != 1 || zs[0].Member != "push-1" {
		t.Fatalf("index %s = %v, want push-1", idx, zs)
	}
	// The score is the expiry in unix ms, by the server's clock: allow for
	// a client clock a few seconds off.
	if exp := time.UnixMilli(int64(zs[0].Score)); exp.Before(before.Add(time.Hour-5*time.Second)) || exp.After(time.Now().Add(time.Hour+5*time.Second)) {
		t.Fatalf("index score %v (%v), want about an hour from now", zs[0].Score, exp)
	}
	// Settle marks the record and keeps its TTL.
	time.Sleep(5 * time.Millisecond)
	left := pttl(op)
	if _, err := s.Settle(ctx, r, store.Kept); err != nil {
		t.Fatal(err)
	}
	if v, err := c.HGet(ctx, op, "s").Result(); err != nil || v != "1" {
		t.Fatalf("settlement field = %q, %v; want 1 (kept)", v, err)
	}
	if d := pttl(op); d > left || d <= 59*time.Minute {
		t.Fatalf("operation record PTTL after Settle = %v, want at most the %v it had", d, left)
	}
	// A longer operation TTL lengthens the index, a shorter one does not
	// shorten it.
	if _, _, err := s.ConsumeOnce(ctx, "push-2", 2*time.Hour, "oUser", "tmpl"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.ConsumeOnce(ctx, "push-3", time.Minute, "oUser", "tmpl"); err != nil {
		t.Fatal(err)
	}
	if d := pttl(idx); d <= 119*time.Minute {
		t.Fatalf("index PTTL = %v, want about 2h", d)
	}
}

// TestReceiptIndexPruned checks that ConsumeOnce drops expired operation
// keys from the user's index as it adds new ones, so that an active user's
// index holds the live operations only.
func TestReceiptIndexPruned(t *testing.T) {
	c, prefix := redistest.Client(t)
	s, err := wxredis.New(c, wxredis.WithPrefix(prefix))
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if err := s.SetLongTerm(ctx, "u", "t", 0); err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		if _, _, err := s.ConsumeOnce(ctx, "old-"+strconv.Itoa(i), 20*time.Millisecond, "u", "t"); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(50 * time.Millisecond)
	if _, _, err := s.ConsumeOnce(ctx, "new", time.Minute, "u", "t"); err != nil {
		t.Fatal(err)
	}
	m, err := c.ZRange(ctx, prefix+"receipts:{u}", 0, -1).Result()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(m, []string{"new"}) {
		t.Fatalf("index after the old operations expired = %v, want [new]", m)
	}
}

// TestDeleteUserRemovesReceipts checks that DeleteUser leaves no key of
// the user's ConsumeOnce operations behind, and no other user's is touched.
func TestDeleteUserRemovesReceipts(t *testing.T) {
	c, prefix := redistest.Client(t)
	s, err := wxredis.New(c, wxredis.WithPrefix(prefix))
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	for _, u := range []string{"u", "other"} {
		if _, err := s.AddOneTime(ctx, u, "t", 5, 0); err != nil {
			t.Fatal(err)
		}
		for i := range 3 {
			if _, _, err := s.ConsumeOnce(ctx, "op-"+strconv.Itoa(i), time.Minute, u, "t"); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := s.DeleteUser(ctx, "u"); err != nil {
		t.Fatal(err)
	}
	keys, err := c.Keys(ctx, prefix+"*{u}*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 0 {
		t.Fatalf("keys of the deleted user left: %v", keys)
	}
	if _, _, err := s.LookupReceipt(ctx, "other", "op-2"); err != nil {
		t.Fatalf("the other user's operation: %v", err)
	}
}

// TestCorruptReceipts checks that operation records this package did not
// write give errors, not panics or made-up receipts.
func TestCorruptReceipts(t *testing.T) {
	c, prefix := redistest.Client(t)
	s, err := wxredis.New(c, wxredis.WithPrefix(prefix))
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	c.HSet(ctx, prefix+"receipt:{u}:no-gen", "t", "t", "k", "1", "s", "0")
	c.HSet(ctx, prefix+"receipt:{u}:bad-kind", "t", "t", "k", "7", "s", "0", "g", "x")
	c.HSet(ctx, prefix+"receipt:{u}:bad-state", "t", "t", "k", "1", "s", "9", "g", "x")
	c.Set(ctx, prefix+"receipt:{u}:wrong-type", "a string", 0)
	for _, key := range []string{"no-gen", "bad-kind", "bad-state", "wrong-type"} {
		if _, _, err := s.LookupReceipt(ctx, "u", key); err == nil || errors.Is(err, store.ErrNotFound) {
			t.Errorf("LookupReceipt(%s): err = %v, want a decode or Redis error", key, err)
		}
		if _, _, err := s.ConsumeOnce(ctx, key, time.Minute, "u", "t"); err == nil || errors.Is(err, store.ErrNoGrant) {
			t.Errorf("ConsumeOnce(%s): err = %v, want a decode or Redis error", key, err)
		}
	}
	r := store.Receipt{OpenID: "u", TemplateID: "t", Kind: store.OneTime, Generation: "x", Op: "bad-state"}
	if _, err := s.Settle(ctx, r, store.Refunded); err == nil || errors.Is(err, store.ErrNotFound) {
		t.Errorf("Settle of a record with a bad settlement: err = %v, want a decode error", err)
	}
}
