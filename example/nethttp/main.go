// Command nethttp serves the example app with net/http: the WeChat callback
// route at /wechat/callback, POST /send, GET /grants and GET /healthz. It is
// configured by environment variables; see the README.
package main

import (
	"context"
	"errors"
	"net/http"
	"os"
	"time"

	"github.com/wxsub/wxsub/example/internal/app"
)

func main() {
	os.Exit(app.Main("nethttp", serve))
}

func serve(ctx context.Context, a *app.App, addr string) error {
	srv := &http.Server{Addr: addr, Handler: a.Handler(), ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
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
