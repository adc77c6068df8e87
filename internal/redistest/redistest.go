// Package redistest gives wxsub's tests a real Redis: the shared server named
// by WXSUB_REDIS_ADDR (with a per-test key prefix that is cleaned up), or a
// private redis-server process that a fault test may stop and restart.
//
// Outside CI, tests that need Redis are skipped with a message when it is
// missing; with CI set, they fail.
package redistest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// AddrEnv names the variable that holds the shared Redis address.
const AddrEnv = "WXSUB_REDIS_ADDR"

// ServerEnv optionally names the redis-server binary for private servers.
const ServerEnv = "WXSUB_REDIS_SERVER"

func missing(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv("CI") != "" {
		t.Fatalf("redistest: %s (CI is set, so this is a failure)", msg)
	}
	t.Skipf("redistest: %s; skipping (bash .ci/run provides one)", msg)
}

// Addr returns the shared Redis address from WXSUB_REDIS_ADDR, after checking
// that it answers PING.
func Addr(t testing.TB) string {
	t.Helper()
	addr := os.Getenv(AddrEnv)
	if addr == "" {
		missing(t, "%s is not set", AddrEnv)
	}
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	// Generous: a Redis slow to answer on a busy machine is still there,
	// and outside CI a failed PING skips the test silently.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		missing(t, "no Redis answers at %s: %v", addr, err)
	}
	return addr
}

// Prefix returns a key prefix unique to this test run, ending in ":".
func Prefix(t testing.TB) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := strings.NewReplacer("/", "_", " ", "_").Replace(t.Name())
	return "wxsubtest:" + name + ":" + hex.EncodeToString(b[:]) + ":"
}

// Client connects to the shared Redis and returns the client with a fresh
// key prefix. When the test ends every key under the prefix is deleted and
// the client closed.
func Client(t testing.TB) (*redis.Client, string) {
	t.Helper()
	addr := Addr(t)
	c := redis.NewClient(&redis.Options{Addr: addr})
	prefix := Prefix(t)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		DeletePrefix(ctx, c, prefix)
		_ = c.Close()
	})
	return c, prefix
}

// DeletePrefix deletes every key that starts with prefix (hash tags in the
// prefix are matched literally).
func DeletePrefix(ctx context.Context, c redis.UniversalClient, prefix string) {
	pattern := escapeGlob(prefix) + "*"
	iter := c.Scan(ctx, 0, pattern, 500).Iterator()
	var batch []string
	for iter.Next(ctx) {
		batch = append(batch, iter.Val())
		if len(batch) == 500 {
			c.Unlink(ctx, batch...)
			batch = batch[:0]
		}
	}
	if len(batch) > 0 {
		c.Unlink(ctx, batch...)
	}
}

func escapeGlob(s string) string {
	r := strings.NewReplacer(`\`, `\\`, "*", `\*`, "?", `\?`, "[", `\[`, "]", `\]`)
	return r.Replace(s)
}

// Server is a private redis-server process on a free loopback port, for
// tests that stop and restart Redis. It keeps nothing on disk.
type Server struct {
	t    testing.TB
	bin  string
	port int
	cmd  *exec.Cmd
	// dir, when set, holds an append-only file synced on every write, so
	// the data survives Stop (a SIGKILL) and the next Start.
	dir string
}

// StartServer starts a private redis-server and stops it when the test ends.
func StartServer(t testing.TB) *Server {
	t.Helper()
	return startServer(t, "")
}

// StartDurableServer is StartServer for a server that keeps its data across
// Stop and Start, in the test's temporary directory: for tests that must
// tell "applied once" from "forgotten by the restart".
func StartDurableServer(t testing.TB) *Server {
	t.Helper()
	return startServer(t, t.TempDir())
}

func startServer(t testing.TB, dir string) *Server {
	t.Helper()
	bin := os.Getenv(ServerEnv)
	if bin == "" {
		var err error
		if bin, err = exec.LookPath("redis-server"); err != nil {
			missing(t, "redis-server is not installed")
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("redistest: finding a free port: %v", err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	_ = l.Close()
	s := &Server{t: t, bin: bin, port: port, dir: dir}
	s.Start()
	t.Cleanup(s.Stop)
	return s
}

// Addr is the server's address, the same across restarts.
func (s *Server) Addr() string { return "127.0.0.1:" + strconv.Itoa(s.port) }

// Start starts the server (again) and waits until it answers PING.
func (s *Server) Start() {
	s.t.Helper()
	if s.cmd != nil {
		return
	}
	args := []string{"--port", strconv.Itoa(s.port), "--bind", "127.0.0.1", "--save", "",
		"--appendonly", "no", "--dir", os.TempDir()}
	if s.dir != "" {
		args = []string{"--port", strconv.Itoa(s.port), "--bind", "127.0.0.1", "--save", "",
			"--appendonly", "yes", "--appendfsync", "always", "--dir", s.dir}
	}
	cmd := exec.Command(s.bin, args...)
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("redistest: starting %s: %v", s.bin, err)
	}
	s.cmd = cmd
	c := redis.NewClient(&redis.Options{Addr: s.Addr(), MaxRetries: -1})
	defer c.Close()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := c.Ping(ctx).Err()
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			s.Stop()
			s.t.Fatalf("redistest: redis-server on %s did not answer: %v", s.Addr(), err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Stop kills the server and waits for it to exit. Stopping a stopped server
// is a no-op.
func (s *Server) Stop() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
	s.cmd = nil
}
