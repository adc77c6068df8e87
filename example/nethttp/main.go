// Command nethttp serves the example app with net/http: the WeChat callback
// route at /wechat/callback, POST /send, GET /grants and GET /healthz. It is
// configured by environment variables; see the README.
package main

import (
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/wxsub/wxsub/example/internal/app"
)

func main() {
	os.Exit(app.Main("nethttp", serve))
}

// serve runs the app's routes on ln until ctx is done, then shuts down
// (an app.Serve).
func serve(ctx context.Context, a *app.App, ln net.Listener) error {
	srv := &http.Server{Handler: a.Handler(), ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
