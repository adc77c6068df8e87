package httpadapter_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"time"

	"github.com/wxsub/wxsub/adapters/httpadapter"
	"github.com/wxsub/wxsub/codec"
	"github.com/wxsub/wxsub/handlers"
	"github.com/wxsub/wxsub/middleware"
)

// Mount the callback route in an http.ServeMux, with typed hooks.
func Example() {
	mux := handlers.NewMux()
	mux.OnSubscribePopup(func(ctx context.Context, ev *handlers.SubscribePopupEvent) error {
		for _, it := range ev.Items {
			log.Printf("%s answered %s for %s", ev.FromUserName, it.Status, it.TemplateID)
		}
		return nil
	})
	mux.OnSubscribeChange(func(ctx context.Context, ev *handlers.SubscribeChangeEvent) error {
		for _, it := range ev.Items {
			log.Printf("%s turned %s %s in their settings", ev.FromUserName, it.TemplateID, it.Status)
		}
		return nil
	})
	mux.OnSubscribeSent(func(ctx context.Context, ev *handlers.SubscribeSentEvent) error {
		for _, it := range ev.Items {
			if !it.Delivered() {
				log.Printf("message %s was not delivered: %d %s", it.MsgID, it.ErrorCode, it.ErrorStatus)
			}
		}
		return nil
	})
	mux.OnText(func(ctx context.Context, msg *handlers.TextMessage) error {
		msg.TransferToCustomerService() // let a human agent answer
		return nil
	})
	endpoint, err := middleware.New(middleware.Config{
		Token:          "AAAAA", // as configured in the admin console
		EncodingAESKey: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		AppID:          "wxba5fad812f8e6fb9",
		Mux:            mux,
		Logger:         slog.Default(), // rejected requests and failed hooks; nil logs nothing
	})
	if err != nil {
		log.Fatal(err)
	}
	defer endpoint.Close(context.Background())

	routes := http.NewServeMux()
	routes.Handle("/wechat/callback", httpadapter.New(endpoint))
	srv := httptest.NewServer(routes) // in production: http.ListenAndServe(":8080", routes)
	defer srv.Close()

	// WeChat checks the URL when it is saved in the admin console.
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	sig := codec.Signature("AAAAA", ts, "1514711492")
	resp, err := http.Get(srv.URL + "/wechat/callback?signature=" + sig + "&timestamp=" + ts +
		"&nonce=1514711492&echostr=4375120948345356249")
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(resp.StatusCode, string(body))
	// Output: 200 4375120948345356249
}
