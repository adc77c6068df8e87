package sendertest_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/wxsub/wxsub/sender"
	"github.com/wxsub/wxsub/sender/sendertest"
)

// A test of code that sends: script WeChat's replies, then check what was
// delivered.
func Example() {
	wechat := sendertest.NewServer()
	defer wechat.Close()

	// The first send to o-busy meets a busy WeChat; o-gone refused for good.
	wechat.OnSend(sendertest.Rule{ToUser: "o-busy", Times: 1, Reply: sendertest.Reply{ErrCode: -1}})
	wechat.OnSend(sendertest.Rule{ToUser: "o-gone", Reply: sendertest.Reply{ErrCode: 43101}})

	c, err := sender.New(wechat.AppID, wechat.Secret, sender.WithBaseURL(wechat.URL))
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	for _, user := range []string{"o-busy", "o-gone", "o-fine"} {
		_, err := c.SendSubscribe(ctx, sender.SubscribeMessage{
			ToUser: user, TemplateID: "T1", Data: map[string]string{"phrase1": "已发货"},
		})
		fmt.Printf("%s: refused=%v err=%v\n", user, errors.Is(err, sender.ErrUserRefused), err != nil)
	}
	for _, s := range wechat.Sends() {
		fmt.Println("delivered to", s.ToUser, s.Data["phrase1"])
	}
	fmt.Println("send requests:", wechat.SendRequests(), "token fetches:", wechat.TokenFetches())
	// Output:
	// o-busy: refused=false err=false
	// o-gone: refused=true err=true
	// o-fine: refused=false err=false
	// delivered to o-busy 已发货
	// delivered to o-fine 已发货
	// send requests: 4 token fetches: 1
}

// Forcing a token failure: the client refreshes once and repeats the call.
func ExampleServer_InvalidateToken() {
	wechat := sendertest.NewServer()
	defer wechat.Close()
	c, err := sender.New(wechat.AppID, wechat.Secret, sender.WithBaseURL(wechat.URL))
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	msg := sender.SubscribeMessage{ToUser: "o-user", TemplateID: "T1"}
	if _, err := c.SendSubscribe(ctx, msg); err != nil {
		log.Fatal(err)
	}
	wechat.InvalidateToken()
	_, err = c.SendSubscribe(ctx, msg)
	fmt.Println(err, wechat.TokenFetches(), wechat.SendCount())
	// Output:
	// <nil> 2 2
}
