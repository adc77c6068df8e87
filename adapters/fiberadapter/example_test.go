package fiberadapter_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/wxsub/wxsub/adapters/fiberadapter"
	"github.com/wxsub/wxsub/codec"
	"github.com/wxsub/wxsub/handlers"
	"github.com/wxsub/wxsub/middleware"
)

// Mount the callback route in a Fiber app, with typed hooks.
func Example() {
	mux := handlers.NewMux()
	mux.OnSubscribePopup(func(ctx context.Context, ev *handlers.SubscribePopupEvent) error {
		for _, it := range ev.Items {
			if it.Accepted() {
				log.Printf("%s may now receive one %s", ev.FromUserName, it.TemplateID)
			}
		}
		return nil
	})
	mux.OnSubscribeSent(func(ctx context.Context, ev *handlers.SubscribeSentEvent) error {
		for _, it := range ev.Items {
			if !it.Delivered() {
				log.Printf("message %s failed: %d %s", it.MsgID, it.ErrorCode, it.ErrorStatus)
			}
		}
		return nil
	})
	endpoint, err := middleware.New(middleware.Config{Token: "AAAAA", Mux: mux})
	if err != nil {
		log.Fatal(err)
	}
	defer endpoint.Close(context.Background())

	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	app.All("/wechat/callback", fiberadapter.New(fiberadapter.Config{Endpoint: endpoint}))
	ln, err := net.Listen("tcp", "127.0.0.1:0") // in production: app.Listen(":8080")
	if err != nil {
		log.Fatal(err)
	}
	go app.Listener(ln)
	defer app.Shutdown()

	// WeChat checks the URL when it is saved in the admin console.
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	sig := codec.Signature("AAAAA", ts, "1514711492")
	resp, err := http.Get("http://" + ln.Addr().String() + "/wechat/callback?signature=" + sig +
		"&timestamp=" + ts + "&nonce=1514711492&echostr=4375120948345356249")
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.StatusCode, string(body))
	// Output: 200 4375120948345356249
}
