package app

import (
	"bytes"
	"context"
	"net"
	"strings"
	"sync"
	"testing"
)

// syncBuffer is a bytes.Buffer safe for the logger and the test at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func mustNotServe(t *testing.T) Serve {
	return func(context.Context, *App, net.Listener) error {
		t.Error("serve was called")
		return nil
	}
}

// "listening" is logged only once ADDR is bound, with the bound address.
func TestRunLogsListeningAfterBinding(t *testing.T) {
	env := baseEnv()
	env["ADDR"] = "127.0.0.1:0"
	var stderr syncBuffer
	code := Run(context.Background(), "test", envOf(env), &stderr, func(ctx context.Context, a *App, ln net.Listener) error {
		if !strings.Contains(stderr.String(), "msg=listening addr="+ln.Addr().String()) {
			t.Errorf("serve was called before \"listening\" named the bound address %s; stderr:\n%s", ln.Addr(), stderr.String())
		}
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Errorf("the listener is not bound: %v", err)
			return nil
		}
		return c.Close()
	})
	if code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, stderr.String())
	}
}

// An address in use stops the start with one line naming ADDR, and nothing
// claims to be listening.
func TestRunAddressInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	env := baseEnv()
	env["ADDR"] = ln.Addr().String()
	var stderr syncBuffer
	code := Run(context.Background(), "test", envOf(env), &stderr, mustNotServe(t))
	out := stderr.String()
	if code != 2 || !strings.Contains(out, "ADDR="+ln.Addr().String()) || strings.Contains(out, "listening") ||
		strings.Count(out, "\n") != 1 {
		t.Fatalf("exit %d, stderr:\n%s\nwant exit 2 and one line naming ADDR, without \"listening\"", code, out)
	}
}

// An unreachable Redis stops the start with one line naming REDIS_URL and
// the address that failed.
func TestRunRedisUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	for _, v := range []string{addr, "redis://" + addr + "/0"} {
		env := baseEnv()
		env["REDIS_URL"] = v
		var stderr syncBuffer
		code := Run(context.Background(), "test", envOf(env), &stderr, mustNotServe(t))
		out := stderr.String()
		if code != 2 || !strings.Contains(out, "REDIS_URL") || !strings.Contains(out, addr) || strings.Count(out, "\n") != 1 {
			t.Errorf("REDIS_URL=%s: exit %d, stderr:\n%s\nwant exit 2 and one line naming REDIS_URL and %s", v, code, out, addr)
		}
	}
}

// A configuration error names the variable, not the Config field.
func TestRunNamesTheVariable(t *testing.T) {
	env := baseEnv()
	env["WECHAT_DEDUPE_TTL"] = "1m"
	var stderr syncBuffer
	code := Run(context.Background(), "test", envOf(env), &stderr, mustNotServe(t))
	if out := stderr.String(); code != 2 || !strings.Contains(out, "WECHAT_DEDUPE_TTL") || strings.Contains(out, "DedupeTTL must") {
		t.Fatalf("exit %d, stderr:\n%s\nwant exit 2 naming WECHAT_DEDUPE_TTL", code, out)
	}
}
