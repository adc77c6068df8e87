// Command fiber serves the example app with Fiber: the WeChat callback route
// at /wechat/callback, POST /send, GET /grants and GET /healthz, the same
// contract as example/nethttp. It is configured by environment variables;
// see the README.
package main

import (
	"context"
	"net"
	"os"
	"time"

	"github.com/wxsub/wxsub/example/internal/app"
)

func main() {
	os.Exit(app.Main("fiber", serve))
}

// serve runs the app's routes on ln until ctx is done, then shuts down
// (an app.Serve).
func serve(ctx context.Context, a *app.App, ln net.Listener) error {
	f := a.FiberApp()
	errc := make(chan error, 1)
	go func() { errc <- f.Listener(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	return f.ShutdownWithTimeout(10 * time.Second)
}
