package sender_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/wxsub/wxsub/sender"
	"github.com/wxsub/wxsub/sender/sendertest"
	"github.com/wxsub/wxsub/store/memory"
)

// Sending only what the user granted: the callback route records a grant
// when the user accepts the popup; each send consumes one.
func Example() {
	// A fake WeChat stands in for api.weixin.qq.com; in production, leave
	// out WithBaseURL.
	wechat := sendertest.NewServer()
	defer wechat.Close()

	grants := memory.New()
	c, err := sender.New(wechat.AppID, wechat.Secret,
		sender.WithBaseURL(wechat.URL),
		sender.WithGrantStore(grants),
		sender.WithStableToken(true))
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()

	// What the callback route does on subscribe_msg_popup_event "accept".
	if _, err := grants.AddOneTime(ctx, "o-user", "T-shipped", 1, 0); err != nil {
		log.Fatal(err)
	}

	msg := sender.SubscribeMessage{
		ToUser:     "o-user",
		TemplateID: "T-shipped",
		Page:       "pages/order/detail?id=42",
		Data: map[string]string{
			"character_string1": "ORD-2024-0001",
			"thing2":            "机械键盘",
			"date3":             "2024年10月1日 15:01",
		},
	}
	msgID, err := c.SendSubscribe(ctx, msg)
	fmt.Println(msgID, err)

	// The one grant is used up: no second message, and no API call.
	_, err = c.SendSubscribe(ctx, msg)
	fmt.Println(errors.Is(err, sender.ErrNoGrant))
	// Output:
	// 1864323726461255680 <nil>
	// true
}

func ExampleValidateData() {
	err := sender.ValidateData(map[string]string{
		"thing1":  "这是一段超过二十个字符的物品名称，会被微信拒绝",
		"amount2": "¥5.00",
	})
	var de *sender.DataError
	if errors.As(err, &de) {
		fmt.Printf("%s: %s\n", de.Keyword, de.Rule)
	}
	fmt.Println(errors.Is(err, sender.ErrInvalidData))
	// Output:
	// thing1: at most 20 characters
	// true
}

func ExampleAPIError() {
	wechat := sendertest.NewServer()
	defer wechat.Close()
	// The user turned the template off in their settings.
	wechat.OnSend(sendertest.Rule{ToUser: "o-user", Reply: sendertest.Reply{ErrCode: 43101}})

	c, err := sender.New(wechat.AppID, wechat.Secret, sender.WithBaseURL(wechat.URL))
	if err != nil {
		log.Fatal(err)
	}
	_, err = c.SendSubscribe(context.Background(), sender.SubscribeMessage{ToUser: "o-user", TemplateID: "T1"})
	var apiErr *sender.APIError
	if errors.As(err, &apiErr) {
		fmt.Println(apiErr.Code, apiErr.Msg)
	}
	fmt.Println(errors.Is(err, sender.ErrUserRefused))
	// Output:
	// 43101 user refuse to accept the msg
	// true
}
