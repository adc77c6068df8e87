package handlers_test

import (
	"context"
	"fmt"

	"github.com/wxsub/wxsub/codec"
	"github.com/wxsub/wxsub/handlers"
)

func ExampleMux() {
	mux := handlers.NewMux()
	mux.OnSubscribePopup(func(ctx context.Context, ev *handlers.SubscribePopupEvent) error {
		for _, it := range ev.Items {
			fmt.Printf("%s: %s accepted=%v\n", ev.FromUserName, it.TemplateID, it.Accepted())
		}
		return nil
	})
	mux.OnText(func(ctx context.Context, msg *handlers.TextMessage) error {
		if msg.Content == "人工" {
			msg.TransferToCustomerService() // answer with transfer_customer_service
		}
		return nil
	})

	popup := &codec.Message{
		ToUserName: "gh_97417a04a28d", FromUserName: "oUser", CreateTime: 1714037059,
		MsgType: codec.MsgTypeEvent, Event: codec.EventSubscribePopup,
		Items: []codec.SubscribeItem{{TemplateID: "T1", Status: "accept"}, {TemplateID: "T2", Status: "reject"}},
	}
	_, _ = mux.Dispatch(context.Background(), popup)

	text := &codec.Message{ToUserName: "gh_97417a04a28d", FromUserName: "oUser", MsgType: codec.MsgTypeText, Content: "人工"}
	reply, _ := mux.Dispatch(context.Background(), text)
	fmt.Println(reply.MsgType, "to", reply.ToUserName)
	// Output:
	// oUser: T1 accepted=true
	// oUser: T2 accepted=false
	// transfer_customer_service to oUser
}
