// Package redisaddr reads a Redis address the way both the tests
// (WXSUB_REDIS_ADDR) and the example app (REDIS_URL) take one, so that one
// value serves both: "host:port", or a URL that go-redis's ParseURL takes
// ("redis://[user:password@]host:port[/db]", "rediss://…" for TLS,
// "unix:///path/to/redis.sock").
package redisaddr

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Forms describes the accepted forms, for error messages and docs.
const Forms = "host:port or redis://[user:password@]host:port[/db]"

// ErrAddr is wrapped by every error Options returns.
var ErrAddr = errors.New("not a Redis address")

// Options returns the client options for addr, one of Forms.
func Options(addr string) (*redis.Options, error) {
	addr = strings.TrimSpace(addr)
	if addr == "" {
		return nil, fmt.Errorf("%w: empty (want %s)", ErrAddr, Forms)
	}
	if strings.Contains(addr, "://") {
		opts, err := redis.ParseURL(addr)
		if err != nil {
			return nil, fmt.Errorf("%w: %w (want %s)", ErrAddr, err, Forms)
		}
		return opts, nil
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil || port == "" || strings.ContainsAny(addr, "/?#@") {
		return nil, fmt.Errorf("%w: %q (want %s)", ErrAddr, addr, Forms)
	}
	if host == "" {
		addr = "127.0.0.1:" + port
	}
	return &redis.Options{Addr: addr}, nil
}

// Dial checks that something accepts connections at opts' address, within
// timeout, without go-redis: a refused or unreachable address is one plain
// error rather than the lines go-redis logs while it retries its dials.
func Dial(ctx context.Context, opts *redis.Options, timeout time.Duration) error {
	network := opts.Network
	if network == "" {
		network = "tcp"
	}
	d := net.Dialer{Timeout: timeout}
	c, err := d.DialContext(ctx, network, opts.Addr)
	if err != nil {
		return err
	}
	return c.Close()
}
