package redis_test

import (
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/wxsub/wxsub/internal/redistest"
	"github.com/wxsub/wxsub/store"
	wxredis "github.com/wxsub/wxsub/store/redis"
)

func TestNewRejectsBadConfig(t *testing.T) {
	if _, err := wxredis.New(nil); err == nil {
		t.Fatal("New(nil) succeeded, want an error")
	}
	c := goredis.NewClient(&goredis.Options{Addr: "127.0.0.1:1"})
	t.Cleanup(func() { _ = c.Close() })
	for _, p := range []string{"a{b:", "x}", "{app}:"} {
		if _, err := wxredis.New(c, wxredis.WithPrefix(p)); err == nil {
			t.Errorf("New with prefix %q succeeded, want an error", p)
		}
	}
	for _, p := range []string{"", "wxsub:", "prod:app1:"} {
		if _, err := wxredis.New(c, wxredis.WithPrefix(p)); err != nil {
			t.Errorf("New with prefix %q: %v", p, err)
		}
	}
}

// hashTag returns what Redis Cluster hashes for key: the text between the
// first '{' and the next '}', when not empty; otherwise the whole key.
func hashTag(key string) string {
	_, rest, ok := strings.Cut(key, "{")
	if !ok {
		return key
	}
	tag, _, ok := strings.Cut(rest, "}")
	if !ok || tag == "" {
		return key
	}
	return tag
}

// TestKeyLayout pins the documented keys, and that a user's record and
// index share one hash tag.
func TestKeyLayout(t *testing.T) {
	c, prefix := redistest.Client(t)
	s, err := wxredis.New(c, wxredis.WithPrefix(prefix))
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if _, err := s.AddOneTime(ctx, "oUser", "tmpl", 3, 0); err != nil {
		t.Fatal(err)
	}
	if err := s.SetToken(ctx, "app", store.Token{AccessToken: "tok", ExpiresAt: time.UnixMilli(4102444800000)}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AcquireLease(ctx, "app", time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Begin(ctx, "push", time.Minute); err != nil {
		t.Fatal(err)
	}
	rec := prefix + "grant:{oUser}:tmpl"
	idx := prefix + "grants:{oUser}"
	if hashTag(rec) != "oUser" || hashTag(idx) != "oUser" {
		t.Fatalf("hash tags %q and %q, want both oUser", hashTag(rec), hashTag(idx))
	}
	h, err := c.HGetAll(ctx, rec).Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(h) != 3 || h["n"] != "3" || h["lt"] != "0" || h["g"] == "" {
		t.Fatalf("record %s = %v, want n=3, lt=0 and a generation", rec, h)
	}
	if m, err := c.SMembers(ctx, idx).Result(); err != nil || !slices.Equal(m, []string{"tmpl"}) {
		t.Fatalf("index %s = %v, %v; want [tmpl]", idx, m, err)
	}
	if v, err := c.Get(ctx, prefix+"token:app").Result(); err != nil || v != "4102444800000:tok" {
		t.Fatalf("token = %q, %v; want %q", v, err, "4102444800000:tok")
	}
	if v, err := c.Get(ctx, prefix+"lease:app").Result(); err != nil || len(v) != 32 {
		t.Fatalf("lease = %q, %v; want a 32-character ID", v, err)
	}
	if v, err := c.Get(ctx, prefix+"dedupe:push").Result(); err != nil || v != "inflight" {
		t.Fatalf("dedupe = %q, %v; want inflight", v, err)
	}
}

// TestOpenIDEscaping checks that braces in an openid cannot break the hash
// tag or reach another user's records.
func TestOpenIDEscaping(t *testing.T) {
	c, prefix := redistest.Client(t)
	s, err := wxredis.New(c, wxredis.WithPrefix(prefix))
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	// Unescaped, both would be the key "grant:{a}:x}:y".
	pairs := [][2]string{{"a}:x", "y"}, {"a", "x}:y"}, {"a%7D:x", "y"}, {"{a", "y"}}
	for i, p := range pairs {
		if _, err := s.AddOneTime(ctx, p[0], p[1], int64(i+1), 0); err != nil {
			t.Fatal(err)
		}
	}
	for i, p := range pairs {
		g, err := s.Get(ctx, p[0], p[1])
		if err != nil || g.Remaining != int64(i+1) {
			t.Fatalf("Get(%q, %q) = %+v, %v; want Remaining %d", p[0], p[1], g, err, i+1)
		}
		gs, err := s.List(ctx, p[0])
		if err != nil || len(gs) != 1 || gs[0].TemplateID != p[1] {
			t.Fatalf("List(%q) = %+v, %v; want only template %q", p[0], gs, err, p[1])
		}
	}
	keys, err := c.Keys(ctx, prefix+"grant*").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if strings.Count(k, "{") != 1 || strings.Count(k, "}") < 1 {
			t.Errorf("key %q has a broken hash tag", k)
		}
	}
}

// TestIndexExpiry checks that the user's index set lives as long as its
// longest record and no longer.
func TestIndexExpiry(t *testing.T) {
	c, prefix := redistest.Client(t)
	s, err := wxredis.New(c, wxredis.WithPrefix(prefix))
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	idx := prefix + "grants:{u}"
	pttl := func() time.Duration {
		t.Helper()
		d, err := c.PTTL(ctx, idx).Result()
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	if _, err := s.AddOneTime(ctx, "u", "short", 1, time.Minute); err != nil {
		t.Fatal(err)
	}
	if d := pttl(); d <= 59*time.Second || d > time.Minute {
		t.Fatalf("index PTTL = %v, want about 1m", d)
	}
	if _, err := s.AddOneTime(ctx, "u", "long", 1, time.Hour); err != nil {
		t.Fatal(err)
	}
	if d := pttl(); d <= 59*time.Minute || d > time.Hour {
		t.Fatalf("index PTTL = %v, want about 1h", d)
	}
	if err := s.SetLongTerm(ctx, "u", "forever", 0); err != nil {
		t.Fatal(err)
	}
	if d := pttl(); d != -1 {
		t.Fatalf("index PTTL = %v, want -1 (no expiry)", d)
	}
	// Revoking the only non-expiring record gives the index its longest
	// remaining TTL back.
	if err := s.Revoke(ctx, "u", "forever"); err != nil {
		t.Fatal(err)
	}
	if d := pttl(); d <= 59*time.Minute || d > time.Hour {
		t.Fatalf("index PTTL after revoke = %v, want about 1h", d)
	}
	for _, tmpl := range []string{"short", "long"} {
		if err := s.Revoke(ctx, "u", tmpl); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := c.Exists(ctx, idx).Result(); err != nil || n != 0 {
		t.Fatalf("index exists = %d, %v after every record was revoked; want 0", n, err)
	}
}

func TestLargeCounts(t *testing.T) {
	c, prefix := redistest.Client(t)
	s, err := wxredis.New(c, wxredis.WithPrefix(prefix))
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	// 2^53+1 is the first integer a Lua number cannot hold.
	if n, err := s.AddOneTime(ctx, "u", "t", 1<<53+1, 0); err != nil || n != 1<<53+1 {
		t.Fatalf("AddOneTime(2^53+1) = %d, %v", n, err)
	}
	if n, err := s.AddOneTime(ctx, "u", "t", math.MaxInt64-(1<<53+1), 0); err != nil || n != math.MaxInt64 {
		t.Fatalf("AddOneTime up to MaxInt64 = %d, %v", n, err)
	}
	if _, err := s.AddOneTime(ctx, "u", "t", 1, 0); !errors.Is(err, store.ErrInvalidArgument) {
		t.Fatalf("AddOneTime past MaxInt64: err = %v, want ErrInvalidArgument", err)
	}
	r, err := s.Consume(ctx, "u", "t")
	if err != nil {
		t.Fatal(err)
	}
	for range 2 { // the second refund would overflow and is dropped
		if err := s.Refund(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if g, err := s.Get(ctx, "u", "t"); err != nil || g.Remaining != math.MaxInt64 {
		t.Fatalf("Get = %+v, %v; want Remaining %d", g, err, int64(math.MaxInt64))
	}
	// A new record can start at the largest count.
	if _, err := s.AddOneTime(ctx, "v", "t", math.MaxInt64, 0); err != nil {
		t.Fatal(err)
	}
}

// TestCorruptValues checks that values this package did not write give
// errors, not panics or made-up grants.
func TestCorruptValues(t *testing.T) {
	c, prefix := redistest.Client(t)
	s, err := wxredis.New(c, wxredis.WithPrefix(prefix))
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	c.HSet(ctx, prefix+"grant:{u}:bad-count", "n", "many", "lt", "0", "g", "x")
	c.SAdd(ctx, prefix+"grants:{u}", "bad-count")
	c.HSet(ctx, prefix+"grant:{u}:bad-flag", "n", "1", "lt", "yes", "g", "x")
	c.Set(ctx, prefix+"grant:{u}:wrong-type", "a string", 0)
	c.Set(ctx, prefix+"token:app", "no expiry here", 0)
	c.Set(ctx, prefix+"dedupe:push", "done", 0)

	if _, err := s.Get(ctx, "u", "bad-count"); err == nil {
		t.Error("Get of a record with a non-numeric count succeeded")
	}
	if _, err := s.List(ctx, "u"); err == nil {
		t.Error("List with a corrupt record succeeded")
	}
	if _, err := s.Get(ctx, "u", "bad-flag"); err == nil {
		t.Error("Get of a record with a bad long-term flag succeeded")
	}
	if _, err := s.Consume(ctx, "u", "bad-count"); !errors.Is(err, store.ErrNoGrant) {
		t.Errorf("Consume of a record with a non-numeric count: err = %v, want ErrNoGrant", err)
	}
	if _, err := s.AddOneTime(ctx, "u", "wrong-type", 1, 0); err == nil {
		t.Error("AddOneTime onto a string key succeeded")
	}
	if _, err := s.Consume(ctx, "u", "wrong-type"); err == nil || errors.Is(err, store.ErrNoGrant) {
		t.Errorf("Consume of a string key: err = %v, want a Redis error", err)
	}
	if _, err := s.GetToken(ctx, "app"); err == nil || errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetToken of a corrupt value: err = %v, want a decode error", err)
	}
	if st, err := s.Begin(ctx, "push", time.Minute); err != nil || st != store.DedupeDone {
		t.Errorf("Begin = %v, %v; want done", st, err)
	}
}
