// Package redistest gives wxsub's tests a real Redis: the shared server named
// by WXSUB_REDIS_ADDR (with a per-test key prefix that is cleaned up), or a
// private redis-server process that a fault test may stop and restart.
//
// Outside CI, tests that need Redis are skipped with a message when it is
// missing; with CI set, they fail. A skip's message shows only with -v, so
// each package that has such tests calls Main from its TestMain, which
// prints one line after the tests when some were skipped:
//
//	func TestMain(m *testing.M) { os.Exit(redistest.Main(m)) }
package redistest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/wxsub/wxsub/internal/redisaddr"
)

// AddrEnv names the variable that holds the shared Redis address, in either
// form the example app's REDIS_URL takes: host:port or redis://host:port/db.
const AddrEnv = "WXSUB_REDIS_ADDR"

// ServerEnv optionally names the redis-server binary for private servers.
const ServerEnv = "WXSUB_REDIS_SERVER"

// skips counts, by reason, the tests of this test binary skipped through
// Skip. It is the package's one piece of process-wide state: go test gives
// TestMain no other way to learn which tests skipped and why, and a test
// binary is one package's tests.
var skips skipLog

type skipLog struct {
	mu    sync.Mutex
	count map[string]int // by reason
}

func (l *skipLog) add(reason string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.count == nil {
		l.count = make(map[string]int)
	}
	l.count[reason]++
}

// summary is the line Main prints, or "" when nothing was skipped.
func (l *skipLog) summary(pkg string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.count) == 0 {
		return ""
	}
	reasons := make([]string, 0, len(l.count))
	total := 0
	for r, n := range l.count {
		reasons = append(reasons, r)
		total += n
	}
	sort.Strings(reasons)
	tests := "tests"
	if total == 1 {
		tests = "test"
	}
	return fmt.Sprintf("%s: %d %s skipped: %s\n", pkg, total, tests, strings.Join(reasons, "; "))
}

// Skip skips the test with the message reason, and counts it under reason
// for the line Main prints. reason should say what is missing and how to
// provide it, the same for every test it skips.
func Skip(t testing.TB, reason string) {
	t.Helper()
	skips.add(reason)
	t.Skip(reason)
}

// missing skips the test for a missing service, or fails it when CI is set.
func missing(t testing.TB, reason, detail string) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatalf("redistest: %s%s (CI is set, so this is a failure)", reason, detail)
	}
	if detail != "" {
		t.Log("redistest:", reason+detail)
	}
	Skip(t, reason)
}

// Main runs the tests (m.Run) and returns the exit code, for a TestMain.
// When some tests were skipped through Skip, or for a missing Redis, it
// prints one line naming the package, how many and why. Without -v, go test
// shows a passing package's output only when run in the package's own
// directory with no package arguments, so Main writes the line to the
// terminal (/dev/tty) when there is one, and to standard output otherwise
// or with -v.
func Main(m *testing.M) int {
	code := m.Run()
	line := skips.summary(packageDir())
	if line == "" {
		return code
	}
	var w io.Writer = os.Stdout
	if !testing.Verbose() {
		if tty, err := os.OpenFile("/dev/tty", os.O_WRONLY, 0); err == nil {
			defer tty.Close()
			w = tty
		}
	}
	_, _ = io.WriteString(w, line)
	return code
}

// packageDir names the package under test by its directory relative to the
// module root ("./store/redis"): go test runs a test binary in the
// package's directory.
func packageDir() string {
	wd, err := os.Getwd()
	if err != nil {
		return filepath.Base(os.Args[0])
	}
	for dir := wd; ; {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			rel, err := filepath.Rel(dir, wd)
			if err != nil || rel == "." {
				return "."
			}
			return "./" + filepath.ToSlash(rel)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return wd
		}
		dir = parent
	}
}

// Options returns the client options of the shared Redis named by
// WXSUB_REDIS_ADDR, after checking that it answers PING. Each call returns
// a fresh copy.
func Options(t testing.TB) *redis.Options {
	t.Helper()
	v := os.Getenv(AddrEnv)
	if v == "" {
		missing(t, "they need Redis: set "+AddrEnv+" (e.g. "+AddrEnv+"=127.0.0.1:6379)", "")
	}
	opts, err := redisaddr.Options(v)
	if err != nil {
		t.Fatalf("redistest: %s: %v", AddrEnv, err)
	}
	c := redis.NewClient(opts)
	defer c.Close()
	// Generous: a Redis slow to answer on a busy machine is still there,
	// and outside CI a failed PING skips the test silently.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		missing(t, "they need Redis, and none answers at "+AddrEnv+"="+v, ": "+err.Error())
	}
	opts, _ = redisaddr.Options(v)
	return opts
}

// Addr returns WXSUB_REDIS_ADDR as it was given (host:port or a redis://
// URL, which the example app's REDIS_URL also takes), after checking that
// it answers PING.
func Addr(t testing.TB) string {
	t.Helper()
	Options(t)
	return strings.TrimSpace(os.Getenv(AddrEnv))
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
	c := redis.NewClient(Options(t))
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
			missing(t, "they start private Redis servers: install redis-server, or set "+ServerEnv+" to its path", "")
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
