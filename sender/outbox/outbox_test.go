package outbox_test

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wxsub/wxsub/sender"
	"github.com/wxsub/wxsub/sender/outbox"
	"github.com/wxsub/wxsub/sender/sendertest"
	"github.com/wxsub/wxsub/store"
	"github.com/wxsub/wxsub/store/memory"
)

// fixture is an Outbox on a MemoryEngine, a memory store and a fake WeChat.
type fixture struct {
	t      *testing.T
	srv    *sendertest.Server
	grants *memory.Store
	client *sender.Client
	box    *outbox.Outbox
}

func newFixture(t *testing.T, opts ...outbox.Option) *fixture {
	t.Helper()
	f := &fixture{t: t, srv: sendertest.NewServer(), grants: memory.New()}
	t.Cleanup(f.srv.Close)
	c, err := sender.New(f.srv.AppID, f.srv.Secret, sender.WithBaseURL(f.srv.URL), sender.WithGrantStore(f.grants),
		sender.WithRetry(sender.RetryPolicy{MaxAttempts: 1}))
	if err != nil {
		t.Fatal(err)
	}
	f.client = c
	opts = append([]outbox.Option{outbox.WithRetry(10*time.Millisecond, 50*time.Millisecond)}, opts...)
	f.box, err = outbox.New(c, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := f.box.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return f
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

func msg(user string) sender.SubscribeMessage {
	return sender.SubscribeMessage{ToUser: user, TemplateID: "T-remind", Data: map[string]string{"thing1": "明天 10:00 复诊"}}
}

func (f *fixture) grant(user string, n int64) {
	f.t.Helper()
	if _, err := f.grants.AddOneTime(ctx(f.t), user, "T-remind", n, 0); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) remaining(user string) int64 {
	f.t.Helper()
	g, err := f.grants.Get(ctx(f.t), user, "T-remind")
	if err != nil {
		f.t.Fatal(err)
	}
	return g.Remaining
}

func (f *fixture) wantRemaining(user string, want int64) {
	f.t.Helper()
	if got := f.remaining(user); got != want {
		f.t.Fatalf("%s holds %d grants, want %d", user, got, want)
	}
}

// waitFinal polls the job until it is final (generous deadline: the
// machine may be loaded).
func (f *fixture) waitFinal(key string) outbox.Job {
	f.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		j, err := f.box.Status(ctx(f.t), key)
		if err != nil {
			f.t.Fatalf("Status(%q): %v", key, err)
		}
		if j.Status.Final() {
			return j
		}
		if time.Now().After(deadline) {
			f.t.Fatalf("job %q still %s", key, j.Status)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (f *fixture) schedule(key, user string, opts ...outbox.ScheduleOption) outbox.Job {
	f.t.Helper()
	j, created, err := f.box.Schedule(ctx(f.t), key, msg(user), opts...)
	if err != nil || !created {
		f.t.Fatalf("Schedule(%q) = created %v, %v", key, created, err)
	}
	return j
}

func TestScheduleReservesTheGrantAndSendsOnIt(t *testing.T) {
	f := newFixture(t)
	f.grant("u1", 1)
	j := f.schedule("order-42-shipped", "u1", outbox.At(time.Now().Add(200*time.Millisecond)))
	if j.Status != outbox.StatusScheduled {
		t.Fatalf("status %s, want scheduled", j.Status)
	}
	// Reserved at scheduling: another feature can no longer spend it.
	f.wantRemaining("u1", 0)
	if _, err := f.client.SendSubscribe(ctx(t), msg("u1")); !errors.Is(err, sender.ErrNoGrant) {
		t.Fatalf("direct send while reserved: %v, want ErrNoGrant", err)
	}
	got := f.waitFinal("order-42-shipped")
	if got.Status != outbox.StatusDelivered || got.MsgID == "" || got.Settlement != store.Kept || got.Attempts != 1 {
		t.Fatalf("job = %+v, want delivered with a msgid, kept, one attempt", got)
	}
	if got.Updated.Before(j.At) {
		t.Fatalf("sent at %v, before it was due at %v", got.Updated, j.At)
	}
	sends := f.srv.Sends()
	if len(sends) != 1 || sends[0].ToUser != "u1" || sends[0].MsgID != got.MsgID {
		t.Fatalf("WeChat saw %+v", sends)
	}
	f.wantRemaining("u1", 0)
}

func TestScheduleSameKeyReservesOnce(t *testing.T) {
	f := newFixture(t)
	f.grant("u1", 3)
	at := outbox.At(time.Now().Add(time.Hour))
	const n = 50
	var created atomic.Int32
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			j, c, err := f.box.Schedule(ctx(t), "k", msg("u1"), at)
			if err != nil || j.Key != "k" {
				t.Errorf("Schedule: %+v, %v", j, err)
			}
			if c {
				created.Add(1)
			}
		}()
	}
	wg.Wait()
	if created.Load() != 1 {
		t.Fatalf("%d calls created the job, want 1", created.Load())
	}
	f.wantRemaining("u1", 2)
}

func TestScheduleRefusals(t *testing.T) {
	f := newFixture(t)
	if _, _, err := f.box.Schedule(ctx(t), "k1", msg("nobody")); !errors.Is(err, sender.ErrNoGrant) {
		t.Fatalf("no grant: %v", err)
	}
	if _, err := f.box.Status(ctx(t), "k1"); !errors.Is(err, outbox.ErrNotFound) {
		t.Fatalf("a refused schedule left a job: %v", err)
	}
	f.grant("u1", 1)
	bad := msg("u1")
	bad.Data = map[string]string{"thing1": "这是一段远远超过二十个字符的提醒内容，微信会拒绝它的"}
	var de *sender.DataError
	if _, _, err := f.box.Schedule(ctx(t), "k2", bad); !errors.As(err, &de) || de.Keyword != "thing1" {
		t.Fatalf("invalid data: %v", err)
	}
	if _, _, err := f.box.Schedule(ctx(t), "", msg("u1")); !errors.Is(err, outbox.ErrInvalidJob) {
		t.Fatalf("empty key: %v", err)
	}
	f.wantRemaining("u1", 1)
	if n := f.srv.SendRequests(); n != 0 {
		t.Fatalf("%d calls to WeChat, want none", n)
	}
}

func TestCancelRefunds(t *testing.T) {
	f := newFixture(t)
	f.grant("u1", 1)
	f.schedule("k", "u1", outbox.At(time.Now().Add(time.Hour)))
	f.wantRemaining("u1", 0)
	j, err := f.box.Cancel(ctx(t), "k")
	if err != nil || j.Status != outbox.StatusCancelled || j.Settlement != store.Refunded {
		t.Fatalf("Cancel = %+v, %v", j, err)
	}
	f.wantRemaining("u1", 1)
	// Cancelling again changes nothing and gives nothing back twice.
	if _, err := f.box.Cancel(ctx(t), "k"); err != nil {
		t.Fatalf("second Cancel: %v", err)
	}
	f.wantRemaining("u1", 1)
	if j, err := f.box.Status(ctx(t), "k"); err != nil || j.Status != outbox.StatusCancelled {
		t.Fatalf("Status = %+v, %v", j, err)
	}
	// The key stays taken: scheduling it again returns the cancelled job.
	if j, created, err := f.box.Schedule(ctx(t), "k", msg("u1")); err != nil || created || j.Status != outbox.StatusCancelled {
		t.Fatalf("Schedule after Cancel = %+v, %v, %v", j, created, err)
	}
	f.wantRemaining("u1", 1)
	if _, err := f.box.Cancel(ctx(t), "nope"); !errors.Is(err, outbox.ErrNotFound) {
		t.Fatalf("Cancel of an unknown key: %v", err)
	}
	f.schedule("sent", "u1")
	f.waitFinal("sent")
	if _, err := f.box.Cancel(ctx(t), "sent"); !errors.Is(err, outbox.ErrNotCancellable) {
		t.Fatalf("Cancel after delivery: %v", err)
	}
	if f.srv.SendCount() != 1 {
		t.Fatalf("WeChat got %d sends, want 1", f.srv.SendCount())
	}
}

func TestOutcomes(t *testing.T) {
	tests := []struct {
		name       string
		reply      sendertest.Reply
		times      int
		status     outbox.Status
		settlement store.Settlement
		remaining  int64
		requests   int
		errcode    int
	}{
		{"busy then delivered", sendertest.Reply{ErrCode: -1}, 2, outbox.StatusDelivered, store.Kept, 1, 3, 0},
		{"too frequent then delivered", sendertest.Reply{ErrCode: 45011}, 1, outbox.StatusDelivered, store.Kept, 1, 2, 0},
		{"user refused", sendertest.Reply{ErrCode: 43101}, 0, outbox.StatusFailed, store.Revoked, 0, 1, 43101},
		{"bad template", sendertest.Reply{ErrCode: 40037}, 0, outbox.StatusFailed, store.Refunded, 2, 1, 40037},
		{"delivery unknown is never retried", sendertest.Reply{Drop: sendertest.DropAfterBody}, 0, outbox.StatusUnknown, store.Refunded, 2, 1, 0},
		{"5xx after writing is unknown", sendertest.Reply{Status: 502}, 0, outbox.StatusUnknown, store.Refunded, 2, 1, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.grant("u1", 2)
			f.srv.OnSend(sendertest.Rule{ToUser: "u1", Times: tc.times, Reply: tc.reply})
			f.schedule("k", "u1")
			j := f.waitFinal("k")
			if j.Status != tc.status || j.Settlement != tc.settlement || j.ErrCode != tc.errcode {
				t.Fatalf("job = %s %s errcode %d (%s), want %s %s %d", j.Status, j.Settlement, j.ErrCode, j.Error, tc.status, tc.settlement, tc.errcode)
			}
			if n := f.srv.SendRequests(); n != tc.requests {
				t.Fatalf("WeChat got %d requests, want %d", n, tc.requests)
			}
			if j.Attempts != tc.requests {
				t.Fatalf("%d attempts, want %d", j.Attempts, tc.requests)
			}
			f.wantRemaining("u1", tc.remaining)
		})
	}
}

func TestDeadlineFailsAndRefunds(t *testing.T) {
	f := newFixture(t)
	f.grant("u1", 1)
	f.srv.OnSend(sendertest.Rule{Reply: sendertest.Reply{ErrCode: -1}})
	f.schedule("k", "u1", outbox.Until(time.Now().Add(150*time.Millisecond)))
	j := f.waitFinal("k")
	if j.Status != outbox.StatusFailed || j.ErrCode != -1 || j.Settlement != store.Refunded || j.Attempts < 2 {
		t.Fatalf("job = %+v", j)
	}
	f.wantRemaining("u1", 1)
}

// TestQuotaPausesUntilMidnight runs with a clock two seconds before
// midnight China Standard Time: WeChat's 45009 must hold every send of the
// app until midnight, and fail none.
func TestQuotaPausesUntilMidnight(t *testing.T) {
	cst := time.FixedZone("CST", 8*3600)
	real0 := time.Now()
	c := real0.In(cst)
	midnight := time.Date(c.Year(), c.Month(), c.Day()+1, 0, 0, 0, 0, cst)
	offset := midnight.Add(-2 * time.Second).Sub(real0)
	now := func() time.Time { return time.Now().Add(offset) }

	var ends sync.Map
	f := newFixture(t, outbox.WithClock(now),
		outbox.WithEngine(outbox.NewMemoryEngine(outbox.MemoryOptions{Now: now})),
		outbox.OnEnd(func(_ context.Context, j outbox.Job) { ends.Store(j.Key, now()) }))
	f.grant("u1", 1)
	f.grant("u2", 1)
	f.srv.OnSend(sendertest.Rule{ToUser: "u1", Times: 1, Reply: sendertest.Reply{ErrCode: 45009}})
	f.schedule("first", "u1")
	// Wait for the 45009, then schedule another send: it must wait too.
	deadline := time.Now().Add(10 * time.Second)
	for {
		j, err := f.box.Status(ctx(t), "first")
		if err != nil {
			t.Fatal(err)
		}
		if j.ErrCode == 45009 && j.Status == outbox.StatusScheduled {
			if !j.At.Equal(midnight) {
				t.Fatalf("after 45009 the job is due at %v, want %v", j.At, midnight)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the first send was not paused by 45009: %+v", j)
		}
		time.Sleep(time.Millisecond)
	}
	f.schedule("second", "u2")
	for _, key := range []string{"first", "second"} {
		j := f.waitFinal(key)
		if j.Status != outbox.StatusDelivered {
			t.Fatalf("%s: %+v, want delivered after the pause", key, j)
		}
		at, _ := ends.Load(key)
		if at.(time.Time).Before(midnight) {
			t.Fatalf("%s sent at %v, before the quota reset at %v", key, at, midnight)
		}
	}
	if n := f.srv.SendRequests(); n != 3 {
		t.Fatalf("WeChat got %d requests, want 3 (the 45009 and two sends)", n)
	}
}

func TestRateLimit(t *testing.T) {
	const n, rate, burst = 120, 100, 10
	f := newFixture(t, outbox.WithLimiter(outbox.NewMemoryLimiter(outbox.Limits{PerSecond: rate, Burst: burst}, nil)))
	start := time.Now()
	for i := range n {
		user := fmt.Sprintf("u%d", i)
		f.grant(user, 1)
		f.schedule("k"+user, user)
	}
	for i := range n {
		f.waitFinal(fmt.Sprintf("ku%d", i))
	}
	// A lower bound only: a loaded machine may take longer, never less.
	min := time.Duration(n-burst) * time.Second / rate
	if el := time.Since(start); el < min*9/10 {
		t.Fatalf("%d sends took %v, the limit allows no less than %v", n, el, min)
	}
	if f.srv.SendCount() != n {
		t.Fatalf("WeChat got %d sends, want %d", f.srv.SendCount(), n)
	}
}

func TestDailyBudgetKeepsTransactionalShare(t *testing.T) {
	l := outbox.NewMemoryLimiter(outbox.Limits{PerSecond: 1000, Daily: 10, CampaignShare: 50}, nil)
	took := func(p outbox.Priority) int {
		n := 0
		for range 20 {
			if w, err := l.Take(context.Background(), p); err == nil && w == 0 {
				n++
			}
		}
		return n
	}
	if got := took(outbox.Campaign); got != 5 {
		t.Fatalf("campaign took %d of the budget, want its share of 5", got)
	}
	if got := took(outbox.Transactional); got != 5 {
		t.Fatalf("transactional took %d, want the 5 left", got)
	}
}

func TestCloseRefundsWhatTheMemoryEngineDrops(t *testing.T) {
	srv := sendertest.NewServer()
	defer srv.Close()
	grants := memory.New()
	c, err := sender.New(srv.AppID, srv.Secret, sender.WithBaseURL(srv.URL), sender.WithGrantStore(grants))
	if err != nil {
		t.Fatal(err)
	}
	var ended []outbox.Job
	box, err := outbox.New(c, outbox.OnEnd(func(_ context.Context, j outbox.Job) { ended = append(ended, j) }))
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"u1", "u2"} {
		if _, err := grants.AddOneTime(ctx(t), u, "T-remind", 1, 0); err != nil {
			t.Fatal(err)
		}
		if _, _, err := box.Schedule(ctx(t), "k-"+u, msg(u), outbox.At(time.Now().Add(time.Hour))); err != nil {
			t.Fatal(err)
		}
	}
	if err := box.Close(ctx(t)); err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"u1", "u2"} {
		if g, _ := grants.Get(ctx(t), u, "T-remind"); g.Remaining != 1 {
			t.Fatalf("%s holds %d grants after Close, want 1 (refunded)", u, g.Remaining)
		}
	}
	if len(ended) != 2 || ended[0].Status != outbox.StatusCancelled || ended[0].Settlement != store.Refunded {
		t.Fatalf("ended = %+v", ended)
	}
	if _, _, err := box.Schedule(ctx(t), "late", msg("u1")); !errors.Is(err, outbox.ErrClosed) {
		t.Fatalf("Schedule after Close: %v, want ErrClosed", err)
	}
	if g, _ := grants.Get(ctx(t), "u1", "T-remind"); g.Remaining != 1 {
		t.Fatalf("a refused Schedule after Close kept the grant: %d", g.Remaining)
	}
}

func TestCampaign(t *testing.T) {
	f := newFixture(t, outbox.WithLimiter(outbox.NewMemoryLimiter(outbox.Limits{PerSecond: 100_000}, nil)))
	const n = 1000
	users := func(yield func(outbox.Recipient, error) bool) {
		for i := range n {
			if !yield(outbox.Recipient{OpenID: fmt.Sprintf("c%04d", i), Data: map[string]string{"thing1": "双十二"}}, nil) {
				return
			}
		}
	}
	granted := 0
	for i := range n {
		if i%10 >= 3 { // 30% hold no grant
			f.grant(fmt.Sprintf("c%04d", i), 1)
			granted++
		}
	}
	f.srv.OnSend(sendertest.Rule{ToUser: "c0005", Reply: sendertest.Reply{ErrCode: 43101}})
	spec := outbox.CampaignSpec{ID: "double-12", TemplateID: "T-remind", PollEvery: 10 * time.Millisecond}
	var calls int
	p, err := f.box.RunCampaign(ctx(t), spec, users, func(outbox.Progress) { calls++ })
	if err != nil {
		t.Fatal(err)
	}
	want := map[outbox.Outcome]int64{outbox.OutcomeDelivered: int64(granted - 1), outbox.OutcomeRefused: 1, outbox.OutcomeNoGrant: n - int64(granted)}
	if !p.Done || p.Read != n || p.Scheduled != int64(granted) || !sameCounts(p.Counts, want) {
		t.Fatalf("progress = %+v, want counts %v", p, want)
	}
	if calls == 0 {
		t.Fatal("progress was never reported")
	}
	if got := f.srv.SendRequests(); got != granted {
		t.Fatalf("WeChat got %d requests, want %d (none for users without a grant)", got, granted)
	}
	// Run again, as after a crash: nobody is sent twice, counts unchanged.
	p, err = f.box.RunCampaign(ctx(t), spec, users, nil)
	if err != nil {
		t.Fatal(err)
	}
	if p.Scheduled != 0 || p.Existing != int64(granted) || !sameCounts(p.Counts, want) {
		t.Fatalf("re-run progress = %+v", p)
	}
	if got := f.srv.SendRequests(); got != granted {
		t.Fatalf("the re-run sent again: %d requests", got)
	}
}

func TestCampaignIteratorError(t *testing.T) {
	f := newFixture(t)
	f.grant("a", 1)
	boom := errors.New("database gone")
	var seq iter.Seq2[outbox.Recipient, error] = func(yield func(outbox.Recipient, error) bool) {
		if yield(outbox.Recipient{OpenID: "a", Data: map[string]string{"thing1": "x"}}, nil) {
			yield(outbox.Recipient{}, boom)
		}
	}
	p, err := f.box.RunCampaign(ctx(t), outbox.CampaignSpec{ID: "c", TemplateID: "T-remind", PollEvery: 5 * time.Millisecond}, seq, nil)
	if !errors.Is(err, boom) || p.Read != 1 || p.Counts[outbox.OutcomeDelivered] != 1 {
		t.Fatalf("RunCampaign = %+v, %v", p, err)
	}
}

func sameCounts(got, want map[outbox.Outcome]int64) bool {
	for _, o := range outbox.Outcomes() {
		if got[o] != want[o] {
			return false
		}
	}
	return true
}

func TestScheduleKeyOfAnotherUserReservesNothing(t *testing.T) {
	f := newFixture(t)
	f.grant("u1", 1)
	f.grant("u2", 1)
	f.schedule("shared-key", "u1", outbox.At(time.Now().Add(time.Hour)))
	j, created, err := f.box.Schedule(ctx(t), "shared-key", msg("u2"))
	if err != nil || created || j.Message.ToUser != "u1" {
		t.Fatalf("Schedule of u1's key for u2 = %+v, %v, %v; want u1's job", j, created, err)
	}
	f.wantRemaining("u1", 0)
	f.wantRemaining("u2", 1)
	other := msg("u1")
	other.TemplateID = "T-other"
	if j, created, err := f.box.Schedule(ctx(t), "shared-key", other); err != nil || created || j.Message.TemplateID != "T-remind" {
		t.Fatalf("Schedule of the key with another template = %+v, %v, %v", j, created, err)
	}
	if _, _, err := f.box.Schedule(ctx(t), "shared-key", msg("nobody")); err != nil {
		t.Fatalf("Schedule of the key by a user without a grant: %v, want the existing job", err)
	}
}
