package outbox_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/wxsub/wxsub/sender"
	"github.com/wxsub/wxsub/sender/outbox"
	"github.com/wxsub/wxsub/sender/sendertest"
	"github.com/wxsub/wxsub/store/memory"
)

// A reminder scheduled for later reserves the user's grant when it is
// scheduled, and spends it when it goes out; a cancelled one gives it back.
func Example() {
	wechat := sendertest.NewServer() // a fake WeChat; leave out WithBaseURL in production
	defer wechat.Close()
	ctx := context.Background()

	grants := memory.New()
	client, err := sender.New(wechat.AppID, wechat.Secret,
		sender.WithBaseURL(wechat.URL), sender.WithGrantStore(grants))
	if err != nil {
		log.Fatal(err)
	}
	box, err := outbox.New(client) // in memory; see asynqengine for a fleet
	if err != nil {
		log.Fatal(err)
	}
	defer box.Close(ctx)

	// The user accepted the template twice (the callback route books this).
	if _, err := grants.AddOneTime(ctx, "o-user", "T-remind", 2, 0); err != nil {
		log.Fatal(err)
	}
	msg := sender.SubscribeMessage{ToUser: "o-user", TemplateID: "T-remind",
		Data: map[string]string{"thing1": "Dentist at 10:00"}}

	job, created, err := box.Schedule(ctx, "appointment-7", msg, outbox.At(time.Now().Add(50*time.Millisecond)))
	if err != nil {
		log.Fatal(err) // sender.ErrNoGrant, sender.ErrInvalidData, ...
	}
	fmt.Println(job.Status, created)

	// Scheduled twice (a retried request, another instance): one job.
	_, created, _ = box.Schedule(ctx, "appointment-7", msg)
	fmt.Println("created again:", created)

	// A second reminder, cancelled: its grant comes back.
	if _, _, err := box.Schedule(ctx, "appointment-8", msg, outbox.At(time.Now().Add(24*time.Hour))); err != nil {
		log.Fatal(err)
	}
	if _, err := box.Cancel(ctx, "appointment-8"); err != nil {
		log.Fatal(err)
	}

	for job.Status != outbox.StatusDelivered && job.Status != outbox.StatusFailed {
		time.Sleep(10 * time.Millisecond)
		if job, err = box.Status(ctx, "appointment-7"); err != nil {
			log.Fatal(err)
		}
	}
	g, _ := grants.Get(ctx, "o-user", "T-remind")
	fmt.Println(job.Status, job.MsgID != "", "grants left:", g.Remaining)

	_, err = box.Cancel(ctx, "appointment-7")
	fmt.Println(errors.Is(err, outbox.ErrNotCancellable))
	// Output:
	// scheduled true
	// created again: false
	// delivered true grants left: 1
	// true
}
