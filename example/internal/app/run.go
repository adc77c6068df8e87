package app

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"
)

// Serve runs the app's routes on ln until ctx is done.
type Serve func(ctx context.Context, a *App, ln net.Listener) error

// Main is the shared start-up of example/nethttp and example/fiber: Run
// with the process's environment and standard error, until SIGINT or
// SIGTERM. It returns the process exit code.
func Main(name string, serve Serve) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return Run(ctx, name, os.Getenv, os.Stderr, serve)
}

// Run reads the configuration through getenv, builds the app, binds ADDR,
// logs "listening" (once the address is bound) and calls serve until ctx is
// done. Anything that stops the start (a missing or invalid variable, an
// unreachable Redis, an address in use) is one line on stderr naming the
// variable, and exit code 2; a server that fails later exits 1. The log
// goes to stderr at WECHAT_LOG_LEVEL.
func Run(ctx context.Context, name string, getenv func(string) string, stderr io.Writer, serve Serve) int {
	cfg, err := LoadConfig(getenv)
	if err != nil {
		fmt.Fprintf(stderr, "%s: configuration: %v\n", name, err)
		return 2
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: cfg.LogLevel}))
	a, err := New(ctx, cfg, log)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return 2
	}
	defer a.Close(context.Background())
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		fmt.Fprintf(stderr, "%s: ADDR=%s: %v\n", name, cfg.Addr, err)
		return 2
	}
	log.InfoContext(ctx, "listening", "addr", ln.Addr().String(), "callback", "/wechat/callback",
		"mode", a.Endpoint.Mode().String(), "redis", cfg.RedisURL != "", "api", cfg.APIBase)
	if err := serve(ctx, a, ln); err != nil {
		log.ErrorContext(ctx, "server stopped", "err", err)
		return 1
	}
	return 0
}
