package outbox

import (
	"context"
	"testing"
	"time"

	"github.com/wxsub/wxsub/sender"
	"github.com/wxsub/wxsub/sender/sendertest"
	"github.com/wxsub/wxsub/store"
	"github.com/wxsub/wxsub/store/memory"
)

// TestTakeOverNeverSendsTwice hands the run a job saved as sending, as an
// engine does when the instance that was sending it died: it must end
// unknown without calling WeChat, and settle the grant as an unknown
// delivery is settled.
func TestTakeOverNeverSendsTwice(t *testing.T) {
	srv := sendertest.NewServer()
	defer srv.Close()
	grants := memory.New()
	ctx := context.Background()
	if _, err := grants.AddOneTime(ctx, "u1", "T1", 1, 0); err != nil {
		t.Fatal(err)
	}
	c, err := sender.New(srv.AppID, srv.Secret, sender.WithBaseURL(srv.URL), sender.WithGrantStore(grants))
	if err != nil {
		t.Fatal(err)
	}
	o, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close(ctx)
	m := sender.SubscribeMessage{ToUser: "u1", TemplateID: "T1"}
	r, _, err := c.Reserve(ctx, reservationKey("k"), time.Hour, m)
	if err != nil {
		t.Fatal(err)
	}
	j := o.run(ctx, Job{Key: "k", Message: m, Receipt: r, Status: StatusSending, Attempts: 1, Deadline: time.Now().Add(time.Hour)})
	if j.Status != StatusUnknown || j.Settlement != store.Refunded || j.Attempts != 1 {
		t.Fatalf("take-over ended %+v", j)
	}
	if srv.SendRequests() != 0 {
		t.Fatal("the take-over sent the message again")
	}
}
