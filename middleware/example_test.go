package middleware_test

import (
	"context"
	"fmt"
	"log"
	"strconv"
	"time"

	"github.com/wxsub/wxsub/codec"
	"github.com/wxsub/wxsub/handlers"
	"github.com/wxsub/wxsub/middleware"
	"github.com/wxsub/wxsub/store/memory"
)

// Serve a signed popup push: the grant is booked before the hook runs.
func ExampleEndpoint_Serve() {
	grants := memory.New()
	mux := handlers.NewMux()
	mux.OnSubscribePopup(func(ctx context.Context, ev *handlers.SubscribePopupEvent) error {
		for _, it := range ev.Items {
			g, _ := grants.Get(ctx, ev.FromUserName, it.TemplateID)
			fmt.Printf("%s %s: %d one-time grant(s)\n", it.TemplateID, it.Status, g.Remaining)
		}
		return nil
	})
	e, err := middleware.New(middleware.Config{Token: "AAAAA", Mux: mux, Grants: grants})
	if err != nil {
		log.Fatal(err)
	}
	defer e.Close(context.Background())

	// What WeChat sends: the query signed with the token, and the push.
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	query := "signature=" + codec.Signature("AAAAA", ts, "415670741") + "&timestamp=" + ts + "&nonce=415670741&openid=oUser"
	body := `<xml><ToUserName><![CDATA[gh_123456789abc]]></ToUserName><FromUserName><![CDATA[oUser]]></FromUserName>` +
		`<CreateTime>` + ts + `</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[subscribe_msg_popup_event]]></Event>` +
		`<SubscribeMsgPopupEvent><List><TemplateId><![CDATA[T1]]></TemplateId><SubscribeStatusString><![CDATA[accept]]></SubscribeStatusString>` +
		`<PopupScene>0</PopupScene></List><List><TemplateId><![CDATA[T2]]></TemplateId><SubscribeStatusString><![CDATA[reject]]>` +
		`</SubscribeStatusString><PopupScene>0</PopupScene></List></SubscribeMsgPopupEvent></xml>`

	resp := e.Serve(context.Background(), middleware.Request{Method: "POST", RawQuery: query, Body: []byte(body)})
	fmt.Println(resp.Status, string(resp.Body))

	// A forged request is refused before anything runs.
	resp = e.Serve(context.Background(), middleware.Request{Method: "POST", RawQuery: "signature=00&timestamp=" + ts + "&nonce=1", Body: []byte(body)})
	fmt.Println(resp.Status, string(resp.Body))
	// Output:
	// T1 accept: 1 one-time grant(s)
	// T2 reject: 0 one-time grant(s)
	// 200 success
	// 403 bad signature
}
