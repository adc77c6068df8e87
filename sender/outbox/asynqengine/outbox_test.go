package asynqengine_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/wxsub/wxsub/internal/redistest"
	"github.com/wxsub/wxsub/sender"
	"github.com/wxsub/wxsub/sender/outbox"
	"github.com/wxsub/wxsub/sender/outbox/asynqengine"
	"github.com/wxsub/wxsub/sender/outbox/redisfleet"
	"github.com/wxsub/wxsub/sender/sendertest"
	"github.com/wxsub/wxsub/store"
	wxredis "github.com/wxsub/wxsub/store/redis"
)

// instance is one process of a fleet: its own Redis client, sender, and
// Outbox on the shared engine queues, limiter and tally.
type instance struct {
	rdb *redis.Client
	box *outbox.Outbox
}

func newInstance(t *testing.T, srv *sendertest.Server, prefix string) *instance {
	t.Helper()
	return newInstanceOnClock(t, srv, prefix, time.Now)
}

// newInstanceOnClock is newInstance with now as the clock of the outbox,
// the engine and the limiter, as a test that moves time gives all three.
func newInstanceOnClock(t *testing.T, srv *sendertest.Server, prefix string, now func() time.Time) *instance {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: redistest.Addr(t)})
	t.Cleanup(func() { _ = rdb.Close() })
	grants, err := wxredis.New(rdb, wxredis.WithPrefix(prefix+":grants:"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := sender.New(srv.AppID, srv.Secret, sender.WithBaseURL(srv.URL), sender.WithGrantStore(grants),
		sender.WithRetry(sender.RetryPolicy{MaxAttempts: 1}))
	if err != nil {
		t.Fatal(err)
	}
	eng, err := asynqengine.New(rdb, asynqengine.Config{Prefix: prefix, PollInterval: 50 * time.Millisecond, ShutdownTimeout: 2 * time.Second, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	lim, err := redisfleet.NewLimiter(rdb, prefix+":fleet:", outbox.Limits{PerSecond: 200}, redisfleet.WithClock(now))
	if err != nil {
		t.Fatal(err)
	}
	tally, err := redisfleet.NewTally(rdb, prefix+":fleet:")
	if err != nil {
		t.Fatal(err)
	}
	box, err := outbox.New(c, outbox.WithEngine(eng), outbox.WithLimiter(lim), outbox.WithTally(tally),
		outbox.WithRetry(100*time.Millisecond, 500*time.Millisecond), outbox.WithClock(now))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := box.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return &instance{rdb: rdb, box: box}
}

// TestOutboxOnRedis runs the outbox of package outbox on two instances
// sharing the engine, the limiter, the tally and the grant store: every
// job is sent once, a busy WeChat is retried, cancelled jobs give their
// grants back, and the campaign counts are exact.
func TestOutboxOnRedis(t *testing.T) {
	prefix := fleetPrefix(t)
	srv := sendertest.NewServer()
	t.Cleanup(srv.Close)
	fleet := []*instance{newInstance(t, srv, prefix), newInstance(t, srv, prefix)}
	grants, err := wxredis.New(fleet[0].rdb, wxredis.WithPrefix(prefix+":grants:"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), outboxtestPatience)
	defer cancel()

	const users = 40
	user := func(i int) string { return fmt.Sprintf("u%02d", i) }
	for i := range users {
		if _, err := grants.AddOneTime(ctx, user(i), "T-remind", 1, 0); err != nil {
			t.Fatal(err)
		}
	}
	// WeChat is busy for the first send of u00..u04.
	for i := range 5 {
		srv.OnSend(sendertest.Rule{ToUser: user(i), Times: 1, Reply: sendertest.Reply{ErrCode: -1}})
	}
	at := time.Now().Add(time.Second)
	for i := range users {
		m := sender.SubscribeMessage{ToUser: user(i), TemplateID: "T-remind", Data: map[string]string{"thing1": "tomorrow 10:00"}}
		opts := []outbox.ScheduleOption{outbox.At(at)}
		if i >= 20 {
			opts = append(opts, outbox.InCampaign("spring"))
		}
		key := "remind-" + user(i)
		if _, created, err := fleet[i%2].box.Schedule(ctx, key, m, opts...); err != nil || !created {
			t.Fatalf("Schedule(%q) = created %v, %v", key, created, err)
		}
		// The same key on the other instance reserves nothing more.
		if _, created, err := fleet[(i+1)%2].box.Schedule(ctx, key, m, opts...); err != nil || created {
			t.Fatalf("Schedule(%q) again = created %v, %v; want the existing job", key, created, err)
		}
	}
	// Cancel five, on the instance that did not schedule them.
	for i := 35; i < users; i++ {
		if j, err := fleet[(i+1)%2].box.Cancel(ctx, "remind-"+user(i)); err != nil || j.Status != outbox.StatusCancelled {
			t.Fatalf("Cancel = %q, %v", j.Status, err)
		}
	}
	for i := range users {
		key := "remind-" + user(i)
		var j outbox.Job
		for {
			j, err = fleet[i%2].box.Status(ctx, key)
			if err != nil {
				t.Fatalf("Status(%q): %v", key, err)
			}
			if j.Status.Final() {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		want, remaining := outbox.StatusDelivered, int64(0)
		if i >= 35 {
			want, remaining = outbox.StatusCancelled, 1
		}
		if j.Status != want {
			t.Errorf("job %q ended %q (%s); want %q", key, j.Status, j.Error, want)
		}
		if i < 5 && j.Attempts != 2 {
			t.Errorf("job %q took %d attempts; want 2 (WeChat was busy once)", key, j.Attempts)
		}
		g, err := grants.Get(ctx, user(i), "T-remind")
		if err != nil {
			t.Fatal(err)
		}
		if g.Remaining != remaining {
			t.Errorf("%s holds %d grants; want %d", user(i), g.Remaining, remaining)
		}
		if want == outbox.StatusDelivered && j.Settlement != store.Kept {
			t.Errorf("job %q: settlement %v; want kept", key, j.Settlement)
		}
	}
	sent := map[string]int{}
	for _, s := range srv.Sends() {
		sent[s.ToUser]++
	}
	for i := range 35 {
		if sent[user(i)] != 1 {
			t.Errorf("%s got %d messages; want 1", user(i), sent[user(i)])
		}
	}
	if len(sent) != 35 {
		t.Errorf("%d users got messages; want 35", len(sent))
	}
	tally, err := redisfleet.NewTally(fleet[1].rdb, prefix+":fleet:")
	if err != nil {
		t.Fatal(err)
	}
	counts, err := tally.Counts(ctx, "spring")
	if err != nil {
		t.Fatal(err)
	}
	if counts[outbox.OutcomeDelivered] != 15 || counts[outbox.OutcomeCancelled] != 5 || len(counts) != 2 {
		t.Errorf("campaign counts %v; want 15 delivered, 5 cancelled", counts)
	}
}

const outboxtestPatience = time.Minute

// fleetPrefix returns a prefix unique to the test and deletes everything
// under it (the engine's, the limiter's, the tally's and the grants' keys)
// when the test ends.
func fleetPrefix(t *testing.T) string {
	t.Helper()
	addr := redistest.Addr(t)
	prefix := strings.TrimSuffix(redistest.Prefix(t), ":")
	t.Cleanup(func() {
		c := redis.NewClient(&redis.Options{Addr: addr})
		defer c.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		redistest.DeletePrefix(ctx, c, prefix+":")
		redistest.DeletePrefix(ctx, c, "rate:"+prefix+":")
		redistest.DeletePrefix(ctx, c, "asynq:{"+prefix+":")
		c.SRem(ctx, "asynq:queues", prefix+":tx", prefix+":campaign")
	})
	return prefix
}

// TestQuotaPauseOnTheEngineClock runs two instances whose clock (the
// outbox's, the engine's and the limiter's, as a test that moves time
// sets them) reads two seconds before midnight China Standard Time. A
// job due now by that clock runs now; a 45009 pauses both instances until
// that midnight, two real seconds away; the paused job, and one scheduled
// during the pause, then go out. The engine starts jobs by its clock: a
// job due at midnight by it is due in two real seconds, not in the hours
// between the real time and the clock's.
func TestQuotaPauseOnTheEngineClock(t *testing.T) {
	cst := time.FixedZone("CST", 8*3600)
	real0 := time.Now()
	c := real0.In(cst)
	midnight := time.Date(c.Year(), c.Month(), c.Day()+1, 0, 0, 0, 0, cst)
	offset := midnight.Add(-2 * time.Second).Sub(real0)
	now := func() time.Time { return time.Now().Add(offset) }

	prefix := fleetPrefix(t)
	srv := sendertest.NewServer()
	t.Cleanup(srv.Close)
	fleet := []*instance{newInstanceOnClock(t, srv, prefix, now), newInstanceOnClock(t, srv, prefix, now)}
	grants, err := wxredis.New(fleet[0].rdb, wxredis.WithPrefix(prefix+":grants:"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), outboxtestPatience)
	defer cancel()
	for _, u := range []string{"u1", "u2"} {
		if _, err := grants.AddOneTime(ctx, u, "T-remind", 1, 0); err != nil {
			t.Fatal(err)
		}
	}
	srv.OnSend(sendertest.Rule{ToUser: "u1", Times: 1, Reply: sendertest.Reply{ErrCode: 45009}})
	schedule := func(box *outbox.Outbox, key, user string) {
		t.Helper()
		m := sender.SubscribeMessage{ToUser: user, TemplateID: "T-remind", Data: map[string]string{"thing1": "tomorrow 10:00"}}
		if _, created, err := box.Schedule(ctx, key, m); err != nil || !created {
			t.Fatalf("Schedule(%q) = created %v, %v", key, created, err)
		}
	}
	schedule(fleet[0].box, "first", "u1")
	for {
		j, err := fleet[1].box.Status(ctx, "first")
		if err != nil {
			t.Fatalf("Status: %v (the job due now by the fleet's clock did not run)", err)
		}
		if j.ErrCode == 45009 && j.Status == outbox.StatusScheduled {
			if !j.At.Equal(midnight) {
				t.Fatalf("after 45009 the job is due at %v, want %v", j.At, midnight)
			}
			break
		}
		if j.Status.Final() {
			t.Fatalf("the first send ended %q before the 45009: %+v", j.Status, j)
		}
		time.Sleep(10 * time.Millisecond)
	}
	schedule(fleet[1].box, "second", "u2")
	realMidnight := midnight.Add(-offset)
	for _, key := range []string{"first", "second"} {
		for {
			j, err := fleet[0].box.Status(ctx, key)
			if err != nil {
				t.Fatalf("Status(%q): %v (the paused job was not sent by the real midnight's minute)", key, err)
			}
			if j.Status.Final() {
				if j.Status != outbox.StatusDelivered {
					t.Fatalf("%s ended %q (%s), want delivered after the pause", key, j.Status, j.Error)
				}
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	for _, s := range srv.Sends() {
		if s.At.Before(realMidnight) {
			t.Errorf("%s was sent at %v, before the quota reset (%v by the real clock)", s.ToUser, s.At, realMidnight)
		}
	}
	if n := srv.SendRequests(); n != 3 {
		t.Errorf("WeChat got %d requests, want 3 (the 45009 and two sends)", n)
	}
}
