package loadtest

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"maps"
	"testing"
	"time"

	"github.com/wxsub/wxsub/sender"
	"github.com/wxsub/wxsub/sender/outbox"
	"github.com/wxsub/wxsub/sender/sendertest"
	"github.com/wxsub/wxsub/store"
)

// TestOutboxFleetCampaign is the fourth proof of issue 14: a campaign to
// 100,000 users (short form: 10,000), 30% of whom hold no grant, run by
// the scheduling side while two worker processes send. The first run is
// cut off halfway through reading the recipients (its context cancelled
// while a recipient is being scheduled, as a crash would cut it); the
// campaign is then run again from the start. WeChat must get no call for
// the users without a grant and exactly one for every other (its request
// count equals the granted count), the per-outcome counts must be exact,
// and every reserved grant must be settled as its outcome says.
func TestOutboxFleetCampaign(t *testing.T) {
	sc := outboxScale(gate(t))
	ctx := context.Background()
	// A campaign is paced by its reading, one recipient at a time; the
	// limit is set above it.
	fl := newFleet(t, outbox.Limits{PerSecond: 1000, Burst: 100}, 0)
	n := sc.campaign
	const tpl = "T-campaign"
	user := func(i int) string { return fmt.Sprintf("o_camp_%06d", i) }
	// Users i%10 < 3 hold no grant; of the others, WeChat refuses i%200
	// == 5 (43101, revoked) and rejects i%200 == 15 (40003, refunded).
	granted := func(i int) bool { return i%10 >= 3 }
	var want = map[outbox.Outcome]int64{}
	var grantedUsers []proofJob
	for i := range n {
		switch {
		case !granted(i):
			want[outbox.OutcomeNoGrant]++
			continue
		case i%200 == 5:
			want[outbox.OutcomeRefused]++
			fl.wechat.OnSend(sendertest.Rule{ToUser: user(i), Reply: sendertest.Reply{ErrCode: sender.CodeUserRefused}})
		case i%200 == 15:
			want[outbox.OutcomeFailed]++
			fl.wechat.OnSend(sendertest.Rule{ToUser: user(i), Reply: sendertest.Reply{ErrCode: 40003}})
		default:
			want[outbox.OutcomeDelivered]++
		}
		grantedUsers = append(grantedUsers, proofJob{User: user(i), Template: tpl})
	}
	fl.grant(ctx, grantedUsers)
	fl.startWorkers(fleetWorkers)

	spec := outbox.CampaignSpec{ID: "spring", TemplateID: tpl, Page: "pages/sale", PollEvery: 200 * time.Millisecond}
	// recipients yields every user; at stopAt it cancels stop on another
	// goroutine, so that the cut lands while a recipient is being
	// scheduled (or between two).
	recipients := func(stopAt int, stop context.CancelFunc) iter.Seq2[outbox.Recipient, error] {
		return func(yield func(outbox.Recipient, error) bool) {
			for i := range n {
				if i == stopAt {
					go stop()
				}
				if !yield(outbox.Recipient{OpenID: user(i), Data: map[string]string{"thing1": fmt.Sprintf("offer %d", i)}}, nil) {
					return
				}
			}
		}
	}
	progressCalls := 0
	progress := func(outbox.Progress) { progressCalls++ }

	start := time.Now()
	cctx, cancel := context.WithCancel(ctx)
	p1, err := fl.box.RunCampaign(cctx, spec, recipients(n/2+3, cancel), progress) // a granted user
	cancel()
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("the first run, cut off at recipient %d, returned %v; want context.Canceled", n/2+3, err)
	}
	t.Logf("first run: cut off after %v at %d recipients read, %d scheduled, %d found scheduled; WeChat saw %d requests meanwhile",
		time.Since(start).Round(time.Millisecond), p1.Read, p1.Scheduled, p1.Existing, fl.wechat.SendRequests())

	start2 := time.Now()
	p2, err := fl.box.RunCampaign(ctx, spec, recipients(-1, nil), progress)
	if err != nil {
		t.Fatalf("the second run: %v", err)
	}
	t.Logf("second run: %d recipients read, %d scheduled, %d found scheduled or ended by the first run; every outcome in after %v (%v since the first run began); %d progress reports",
		p2.Read, p2.Scheduled, p2.Existing, time.Since(start2).Round(time.Millisecond), time.Since(start).Round(time.Millisecond), progressCalls)
	t.Logf("outcomes: %v; want %v", p2.Counts, want)

	g := int64(len(grantedUsers))
	if !p2.Done || p2.Read != int64(n) || p2.Scheduled+p2.Existing != g {
		t.Errorf("second run: done %v, read %d, scheduled %d + existing %d; want done, %d read, %d granted users scheduled or found", p2.Done, p2.Read, p2.Scheduled, p2.Existing, n, g)
	}
	// The cut may fall after a job was added and before the first run
	// counted it: the second run then finds it.
	if s := p1.Scheduled + p2.Scheduled; s != g && s != g-1 {
		t.Errorf("the two runs created %d + %d jobs; want the %d granted users' (one fewer if the cut fell inside a Schedule)", p1.Scheduled, p2.Scheduled, g)
	}
	if !maps.Equal(p2.Counts, want) {
		t.Errorf("outcomes %v; want %v", p2.Counts, want)
	}
	if got, err := fl.box.CampaignProgress(ctx, spec.ID); err != nil || !maps.Equal(got, want) {
		t.Errorf("CampaignProgress = %v, %v; want %v", got, err, want)
	}

	// WeChat: one call per granted user, none for the others; one
	// message per delivered user.
	if r := fl.wechat.SendRequests(); r != int(g) {
		t.Errorf("WeChat got %d requests; want one per granted user, %d", r, g)
	}
	msgs := map[string]int{}
	for _, s := range fl.wechat.Sends() {
		msgs[s.ToUser]++
	}
	double := 0
	for u, c := range msgs {
		if c > 1 {
			double++
			if double <= 5 {
				t.Errorf("%s got %d messages", u, c)
			}
		}
	}
	if int64(len(msgs)) != want[outbox.OutcomeDelivered] || double != 0 {
		t.Errorf("WeChat messaged %d users (%d of them more than once); want the %d delivered, once each", len(msgs), double, want[outbox.OutcomeDelivered])
	}

	// Every granted user's reservation is settled as its outcome says;
	// the others reserved nothing.
	settled := make([]store.Settlement, n)
	left := make([]int64, n)
	if err := parallel(n, 32, func(i int) error {
		_, s, err := fl.grants.LookupReceipt(ctx, user(i), "outbox:"+outbox.CampaignKey(spec.ID, user(i)))
		switch {
		case errors.Is(err, store.ErrNotFound) && !granted(i):
		case err != nil:
			return fmt.Errorf("receipt of %s: %w", user(i), err)
		}
		gr, err := fl.grants.Get(ctx, user(i), tpl)
		settled[i], left[i] = s, gr.Remaining
		return err
	}); err != nil {
		t.Fatal(err)
	}
	ledger := map[store.Settlement]int64{}
	bad := 0
	for i := range n {
		ledger[settled[i]]++
		wantS, wantLeft := store.Kept, int64(0)
		switch {
		case !granted(i):
			wantS = store.Unsettled // no receipt
		case i%200 == 5:
			wantS = store.Revoked
		case i%200 == 15:
			wantS, wantLeft = store.Refunded, 1
		}
		if settled[i] != wantS || left[i] != wantLeft || (wantS == store.Kept) != (msgs[user(i)] == 1) {
			if bad++; bad <= 5 {
				t.Errorf("%s: grant %v with %d left, %d messages; want %v with %d left", user(i), settled[i], left[i], msgs[user(i)], wantS, wantLeft)
			}
		}
	}
	t.Logf("grants: reserved %d = kept %d + refunded %d + revoked %d; %d users without a grant reserved nothing",
		g, ledger[store.Kept], ledger[store.Refunded], ledger[store.Revoked], ledger[store.Unsettled])
	if ledger[store.Kept]+ledger[store.Refunded]+ledger[store.Revoked] != g {
		t.Errorf("grants do not reconcile: %v for %d reserved", ledger, g)
	}
}
