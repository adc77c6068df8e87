package app

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

// Main is the shared start-up of example/nethttp and example/fiber: it reads
// the environment, builds the app, calls serve until SIGINT or SIGTERM, and
// returns the process exit code. A configuration error is reported naming the
// variable, with exit code 2.
func Main(name string, serve func(ctx context.Context, a *App, addr string) error) int {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	cfg, err := LoadConfig(os.Getenv)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: configuration: %v\n", name, err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	a, err := New(ctx, cfg, log)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		return 2
	}
	defer a.Close(context.Background())
	log.Info("listening", "addr", cfg.Addr, "callback", "/wechat/callback", "mode", a.Endpoint.Mode().String(),
		"redis", cfg.RedisURL != "", "api", cfg.APIBase)
	if err := serve(ctx, a, cfg.Addr); err != nil {
		log.Error("server stopped", "err", err)
		return 1
	}
	return 0
}
