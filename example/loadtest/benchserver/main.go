// Command benchserver is the target of the wrk comparisons in run-wrk.sh:
// it serves wxsub's callback route through one framework's adapter at
// /wechat, and a bare handler of the same framework that reads the body and
// answers "success" at /bare, so that the two are measured by the same
// load generator against the same server.
//
// The route runs in plaintext mode with the replay check off
// (middleware.NoReplayCheck), so that one signed query serves a whole run,
// and with the default in-memory dedupe: wrk's script gives every push its
// own CreateTime, so each request takes the full path (verify, decode, claim,
// dispatch to a no-op hook, mark done).
//
//	benchserver -framework nethttp|fiber|fasthttp -addr 127.0.0.1:18080 -token bench-token [-cpuprofile cpu.out]
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"

	"github.com/wxsub/wxsub/adapters/fasthttpadapter"
	"github.com/wxsub/wxsub/adapters/fiberadapter"
	"github.com/wxsub/wxsub/adapters/httpadapter"
	"github.com/wxsub/wxsub/handlers"
	"github.com/wxsub/wxsub/middleware"
)

func main() {
	framework := flag.String("framework", "nethttp", "nethttp, fiber or fasthttp")
	addr := flag.String("addr", "127.0.0.1:18080", "listen address (keep it on loopback)")
	token := flag.String("token", "bench-token", "the callback token the wrk script signs with")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	flag.Parse()
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			log.Fatal(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			log.Fatal(err)
		}
		defer func() {
			pprof.StopCPUProfile()
			_ = f.Close()
		}()
	}

	mux := handlers.NewMux()
	mux.OnSubscribePopup(func(context.Context, *handlers.SubscribePopupEvent) error { return nil })
	e, err := middleware.New(middleware.Config{Token: *token, Mux: mux, ReplayWindow: middleware.NoReplayCheck})
	if err != nil {
		log.Fatal(err)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	fmt.Printf("benchserver: %s on http://%s (/wechat: wxsub, /bare: bare handler)\n", *framework, ln.Addr())

	switch *framework {
	case "nethttp":
		m := http.NewServeMux()
		m.Handle("POST /wechat", httpadapter.New(e))
		m.HandleFunc("POST /bare", func(w http.ResponseWriter, r *http.Request) {
			body, err := io.ReadAll(io.LimitReader(r.Body, e.MaxBodyBytes()+1))
			if err != nil || len(body) == 0 {
				http.Error(w, "empty body", http.StatusBadRequest)
				return
			}
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			_, _ = w.Write([]byte("success"))
		})
		srv := &http.Server{Handler: m}
		go func() { <-ctx.Done(); _ = srv.Close() }()
		_ = srv.Serve(ln)
	case "fiber":
		f := fiber.New(fiber.Config{DisableStartupMessage: true, BodyLimit: int(e.MaxBodyBytes()) + 1})
		f.Post("/wechat", fiberadapter.New(fiberadapter.Config{Endpoint: e}))
		f.Post("/bare", func(c *fiber.Ctx) error {
			if len(c.Body()) == 0 {
				return fiber.ErrBadRequest
			}
			c.Set(fiber.HeaderContentType, "text/plain; charset=utf-8")
			return c.SendString("success")
		})
		go func() { <-ctx.Done(); _ = f.Shutdown() }()
		_ = f.Listener(ln)
	case "fasthttp":
		callback := fasthttpadapter.New(e)
		srv := &fasthttp.Server{
			MaxRequestBodySize: int(e.MaxBodyBytes()) + 1,
			Handler: func(c *fasthttp.RequestCtx) {
				switch string(c.Path()) {
				case "/wechat":
					callback(c)
				case "/bare":
					if len(c.PostBody()) == 0 {
						c.Error("empty body", fasthttp.StatusBadRequest)
						return
					}
					c.SetContentType("text/plain; charset=utf-8")
					c.SetBodyString("success")
				default:
					c.NotFound()
				}
			},
		}
		go func() { <-ctx.Done(); _ = srv.Shutdown() }()
		_ = srv.Serve(ln)
	default:
		log.Fatalf("unknown framework %q", *framework)
	}
	_ = e.Close(context.Background())
}
