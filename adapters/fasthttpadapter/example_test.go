package fasthttpadapter_test

import (
	"context"
	"fmt"
	"log"
	"net"
	"strconv"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/wxsub/wxsub/adapters/fasthttpadapter"
	"github.com/wxsub/wxsub/codec"
	"github.com/wxsub/wxsub/handlers"
	"github.com/wxsub/wxsub/middleware"
)

// Mount the callback route in a fasthttp server, with typed hooks.
func Example() {
	mux := handlers.NewMux()
	mux.OnSubscribeChange(func(ctx context.Context, ev *handlers.SubscribeChangeEvent) error {
		for _, it := range ev.Items {
			if it.Rejected() {
				log.Printf("%s turned %s off", ev.FromUserName, it.TemplateID)
			}
		}
		return nil
	})
	endpoint, err := middleware.New(middleware.Config{Token: "AAAAA", Mux: mux})
	if err != nil {
		log.Fatal(err)
	}
	defer endpoint.Close(context.Background())

	callback := fasthttpadapter.New(endpoint)
	srv := &fasthttp.Server{
		Handler: func(ctx *fasthttp.RequestCtx) {
			if string(ctx.Path()) == "/wechat/callback" {
				callback(ctx)
				return
			}
			ctx.NotFound()
		},
		MaxRequestBodySize: int(endpoint.MaxBodyBytes()) + 1,
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0") // in production: srv.ListenAndServe(":8080")
	if err != nil {
		log.Fatal(err)
	}
	go srv.Serve(ln)
	defer srv.Shutdown()

	// WeChat checks the URL when it is saved in the admin console.
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	sig := codec.Signature("AAAAA", ts, "1514711492")
	status, body, err := fasthttp.Get(nil, "http://"+ln.Addr().String()+"/wechat/callback?signature="+sig+
		"&timestamp="+ts+"&nonce=1514711492&echostr=4375120948345356249")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(status, string(body))
	// Output: 200 4375120948345356249
}
