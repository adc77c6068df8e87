package sender_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wxsub/wxsub/sender"
	"github.com/wxsub/wxsub/sender/sendertest"
	"github.com/wxsub/wxsub/store"
	"github.com/wxsub/wxsub/store/memory"
)

var errConnReset = errors.New("read tcp 127.0.0.1:6379: connection reset by peer")

// lossyStore is a memory store whose replies can be lost: the store acts,
// then the caller gets an error, as when a connection drops after Redis ran
// the script. down makes it fail without acting.
type lossyStore struct {
	*memory.Store
	loseConsume atomic.Int32 // replies of ConsumeOnce to lose
	loseSettle  atomic.Int32 // replies of Settle to lose
	down        atomic.Bool  // fail every call without acting
	downAfter   atomic.Bool  // go down after the next consume
	settles     atomic.Int32
	onLoss      func() // called when a consume's reply is lost
}

func (s *lossyStore) lost() {
	if s.onLoss != nil {
		s.onLoss()
	}
}

// Consume and Refund lose replies as ConsumeOnce and Settle do, so that a
// client using only the plain methods meets the same faults.
func (s *lossyStore) Consume(ctx context.Context, openID, templateID string) (store.Receipt, error) {
	if s.down.Load() {
		return store.Receipt{}, errConnReset
	}
	r, err := s.Store.Consume(ctx, openID, templateID)
	if err == nil && s.downAfter.Load() {
		s.down.Store(true)
	}
	if err == nil && s.loseConsume.Add(-1) >= 0 {
		s.lost()
		return store.Receipt{}, errConnReset
	}
	return r, err
}

func (s *lossyStore) Refund(ctx context.Context, r store.Receipt) error {
	s.settles.Add(1)
	if s.down.Load() {
		return errConnReset
	}
	err := s.Store.Refund(ctx, r)
	if err == nil && s.loseSettle.Add(-1) >= 0 {
		return errConnReset
	}
	return err
}

func (s *lossyStore) ConsumeOnce(ctx context.Context, opKey string, opTTL time.Duration, openID, templateID string) (store.Receipt, store.Settlement, error) {
	if s.down.Load() {
		return store.Receipt{}, 0, errConnReset
	}
	r, st, err := s.Store.ConsumeOnce(ctx, opKey, opTTL, openID, templateID)
	if err == nil && s.downAfter.Load() {
		s.down.Store(true)
	}
	if err == nil && s.loseConsume.Add(-1) >= 0 {
		s.lost()
		return store.Receipt{}, 0, errConnReset
	}
	return r, st, err
}

func (s *lossyStore) Settle(ctx context.Context, r store.Receipt, st store.Settlement) (store.Settlement, error) {
	s.settles.Add(1)
	if s.down.Load() {
		return 0, errConnReset
	}
	got, err := s.Store.Settle(ctx, r, st)
	if err == nil && s.loseSettle.Add(-1) >= 0 {
		return 0, errConnReset
	}
	return got, err
}

func grantsLeft(t *testing.T, s store.GrantStore, user string) int64 {
	t.Helper()
	g, err := s.Get(context.Background(), user, "T1")
	if err != nil {
		t.Fatal(err)
	}
	return g.Remaining
}

// syncBuffer is a log sink safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func TestSendSurvivesALostConsumeReply(t *testing.T) {
	srv := newServer(t)
	s := &lossyStore{Store: memory.New()}
	if _, err := s.AddOneTime(context.Background(), "u1", "T1", 2, 0); err != nil {
		t.Fatal(err)
	}
	s.loseConsume.Store(1)
	c := newClient(t, srv, sender.WithGrantStore(s))
	msgID, err := c.SendSubscribe(context.Background(), sender.SubscribeMessage{ToUser: "u1", TemplateID: "T1"})
	if err != nil || msgID == "" {
		t.Fatalf("SendSubscribe = %q, %v; want a delivery despite the lost reply", msgID, err)
	}
	if n := grantsLeft(t, s, "u1"); n != 1 {
		t.Fatalf("%d grants left, want 1: the lost reply consumed a second grant or none", n)
	}
}

func TestRefundRetriedAfterLostReplies(t *testing.T) {
	srv := newServer(t)
	srv.OnSend(sendertest.Rule{Reply: sendertest.Reply{ErrCode: sender.CodeInvalidTemplate}})
	s := &lossyStore{Store: memory.New()}
	if _, err := s.AddOneTime(context.Background(), "u1", "T1", 1, 0); err != nil {
		t.Fatal(err)
	}
	s.loseSettle.Store(3) // the store refunds, and three answers are lost
	c := newClient(t, srv, sender.WithGrantStore(s))
	if _, err := c.SendSubscribe(context.Background(), sender.SubscribeMessage{ToUser: "u1", TemplateID: "T1"}); err == nil {
		t.Fatal("a 40037 send succeeded")
	}
	if n := grantsLeft(t, s, "u1"); n != 1 {
		t.Fatalf("%d grants left, want exactly 1 (refunded once, however often asked)", n)
	}
	if n := s.settles.Load(); n != 4 {
		t.Fatalf("Settle called %d times, want 4", n)
	}
}

func TestUnsettledReceiptIsLoggedForRepair(t *testing.T) {
	srv := newServer(t)
	srv.OnSend(sendertest.Rule{Reply: sendertest.Reply{ErrCode: sender.CodeInvalidTemplate}})
	s := &lossyStore{Store: memory.New()}
	if _, err := s.AddOneTime(context.Background(), "u1", "T1", 1, 0); err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	c := newClient(t, srv, sender.WithGrantStore(s), sender.WithSettleTimeout(200*time.Millisecond),
		sender.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	// The store goes down between the consume and the refund, for longer
	// than the settle time.
	s.downAfter.Store(true)
	if _, err := c.SendSubscribe(context.Background(), sender.SubscribeMessage{ToUser: "u1", TemplateID: "T1"}); err == nil {
		t.Fatal("a 40037 send succeeded")
	}
	out := logs.String()
	for _, want := range []string{"level=ERROR", "under-counted", "op_key=send:", "openid=u1", "template_id=T1", "settlement=refunded"} {
		if !strings.Contains(out, want) {
			t.Fatalf("log lacks %q:\n%s", want, out)
		}
	}
	if s.settles.Load() < 2 {
		t.Fatalf("Settle asked %d times, want it retried", s.settles.Load())
	}
	// The store is back: the logged operation key is enough to settle
	// the receipt by hand and give the grant back.
	s.down.Store(false)
	s.downAfter.Store(false)
	if n := grantsLeft(t, s, "u1"); n != 0 {
		t.Fatalf("%d grants left while the refund was impossible", n)
	}
	op := out[strings.Index(out, "op_key=")+len("op_key="):]
	op = op[:strings.IndexAny(op, " \n")]
	r, st, err := s.LookupReceipt(context.Background(), "u1", op)
	if err != nil || st != store.Unsettled {
		t.Fatalf("LookupReceipt(%s) = %+v %v %v", op, r, st, err)
	}
	if got, err := c.Settle(context.Background(), r, store.Refunded); err != nil || got != store.Refunded {
		t.Fatalf("Settle by hand = %v, %v", got, err)
	}
	if n := grantsLeft(t, s, "u1"); n != 1 {
		t.Fatalf("%d grants left after the repair, want 1", n)
	}
}

func TestConsumeWithStoreDownGivesUpAndLogs(t *testing.T) {
	srv := newServer(t)
	s := &lossyStore{Store: memory.New()}
	if _, err := s.AddOneTime(context.Background(), "u1", "T1", 1, 0); err != nil {
		t.Fatal(err)
	}
	s.down.Store(true)
	var logs syncBuffer
	c := newClient(t, srv, sender.WithGrantStore(s), sender.WithSettleTimeout(150*time.Millisecond),
		sender.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	_, err := c.SendSubscribe(context.Background(), sender.SubscribeMessage{ToUser: "u1", TemplateID: "T1"})
	if !errors.Is(err, errConnReset) {
		t.Fatalf("SendSubscribe: %v, want the store's error", err)
	}
	if srv.SendRequests() != 0 {
		t.Fatal("sent without a grant")
	}
	if !strings.Contains(logs.String(), "may have been consumed without a send") {
		t.Fatalf("no repair line logged:\n%s", logs.String())
	}
	if n := grantsLeft(t, s, "u1"); n != 1 {
		t.Fatalf("%d grants left, want 1 (the store never acted)", n)
	}
}

func TestConsumeLostThenCallerGivesUpRefunds(t *testing.T) {
	srv := newServer(t)
	s := &lossyStore{Store: memory.New()}
	if _, err := s.AddOneTime(context.Background(), "u1", "T1", 1, 0); err != nil {
		t.Fatal(err)
	}
	c := newClient(t, srv, sender.WithGrantStore(s))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// The store takes the grant, its reply is lost, and the caller gives
	// up before the consume is asked again.
	s.onLoss = cancel
	s.loseConsume.Store(1)
	_, err := c.SendSubscribe(ctx, sender.SubscribeMessage{ToUser: "u1", TemplateID: "T1"})
	if err == nil {
		t.Fatal("send with a cancelled context succeeded")
	}
	if srv.SendRequests() != 0 {
		t.Fatal("sent after the caller gave up")
	}
	if n := grantsLeft(t, s, "u1"); n != 1 {
		t.Fatalf("%d grants left, want 1: the grant taken with the lost reply was not given back", n)
	}
}

func TestReserveSendReservedSettle(t *testing.T) {
	srv := newServer(t)
	grants := memory.New()
	ctx := context.Background()
	if _, err := grants.AddOneTime(ctx, "u1", "T1", 1, 0); err != nil {
		t.Fatal(err)
	}
	c := newClient(t, srv, sender.WithGrantStore(grants))
	m := sender.SubscribeMessage{ToUser: "u1", TemplateID: "T1"}
	r, st, err := c.Reserve(ctx, "job-1", time.Hour, m)
	if err != nil || st != store.Unsettled || r.Op != "job-1" {
		t.Fatalf("Reserve = %+v %v %v", r, st, err)
	}
	// Reserving again takes nothing more.
	if r2, _, err := c.Reserve(ctx, "job-1", time.Hour, m); err != nil || r2 != r {
		t.Fatalf("second Reserve = %+v, %v", r2, err)
	}
	if _, _, err := c.Reserve(ctx, "job-2", time.Hour, m); !errors.Is(err, sender.ErrNoGrant) {
		t.Fatalf("Reserve with nothing left: %v", err)
	}
	other := m
	other.ToUser = "u2"
	if _, err := c.SendReserved(ctx, other, r); !errors.Is(err, sender.ErrInvalidMessage) {
		t.Fatalf("SendReserved with another user's receipt: %v", err)
	}
	msgID, err := c.SendReserved(ctx, m, r)
	if err != nil || msgID == "" {
		t.Fatalf("SendReserved = %q, %v", msgID, err)
	}
	if got, err := c.Settle(ctx, r, sender.SettlementFor(nil)); err != nil || got != store.Kept {
		t.Fatalf("Settle = %v, %v", got, err)
	}
	if got, err := c.Settle(ctx, r, store.Refunded); err != nil || got != store.Kept {
		t.Fatalf("second Settle = %v, %v; want the first settlement kept", got, err)
	}
	if n := grantsLeft(t, grants, "u1"); n != 0 {
		t.Fatalf("%d grants left after a delivered reserved send", n)
	}
	if srv.SendRequests() != 1 {
		t.Fatalf("%d sends", srv.SendRequests())
	}
}

func TestReserveNeedsAReceiptStore(t *testing.T) {
	srv := newServer(t)
	c := newClient(t, srv, sender.WithGrantStore(plainStore{memory.New()}))
	if _, _, err := c.Reserve(context.Background(), "k", time.Hour, sender.SubscribeMessage{ToUser: "u", TemplateID: "T"}); !errors.Is(err, sender.ErrNoReceiptStore) {
		t.Fatalf("Reserve on a plain store: %v", err)
	}
}

// plainStore hides the memory store's optional methods.
type plainStore struct{ store.GrantStore }

func TestSettlementFor(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want store.Settlement
	}{
		{nil, store.Kept},
		{&sender.APIError{Code: sender.CodeUserRefused}, store.Revoked},
		{&sender.APIError{Code: sender.CodeInvalidTemplate}, store.Refunded},
		{sender.ErrDeliveryUnknown, store.Refunded},
	} {
		if got := sender.SettlementFor(tc.err); got != tc.want {
			t.Errorf("SettlementFor(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}
