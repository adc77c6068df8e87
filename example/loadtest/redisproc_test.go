package loadtest

import (
	"context"
	"net"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/wxsub/wxsub/internal/redistest"
)

// durableRedis is a private redis-server that, unlike redistest.Server,
// keeps its data across a kill: an append-only file synced on every write,
// in the test's temporary directory. The outage test needs it to tell
// "applied once" from "forgotten by the restart".
type durableRedis struct {
	t    *testing.T
	bin  string
	dir  string
	port int
	cmd  *exec.Cmd
}

func startDurableRedis(t *testing.T) *durableRedis {
	t.Helper()
	bin := os.Getenv(redistest.ServerEnv)
	if bin == "" {
		var err error
		if bin, err = exec.LookPath("redis-server"); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatal("redis-server is not installed (CI is set, so this is a failure)")
			}
			t.Skip("redis-server is not installed; skipping (bash .ci/run installs it)")
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	_ = l.Close()
	r := &durableRedis{t: t, bin: bin, dir: t.TempDir(), port: port}
	r.Start()
	t.Cleanup(r.Stop)
	return r
}

// Addr is the server's address, the same across restarts.
func (r *durableRedis) Addr() string { return "127.0.0.1:" + strconv.Itoa(r.port) }

// Start starts the server (again, reloading its data) and waits for PING.
func (r *durableRedis) Start() {
	r.t.Helper()
	if r.cmd != nil {
		return
	}
	cmd := exec.Command(r.bin, "--port", strconv.Itoa(r.port), "--bind", "127.0.0.1", "--save", "",
		"--appendonly", "yes", "--appendfsync", "always", "--dir", r.dir)
	if err := cmd.Start(); err != nil {
		r.t.Fatalf("starting %s: %v", r.bin, err)
	}
	r.cmd = cmd
	c := goredis.NewClient(&goredis.Options{Addr: r.Addr(), MaxRetries: -1})
	defer c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		err := c.Ping(ctx).Err()
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			r.Stop()
			r.t.Fatalf("redis-server on %s did not answer: %v", r.Addr(), err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Stop kills the server at once (SIGKILL) and waits for it to exit.
func (r *durableRedis) Stop() {
	if r.cmd == nil {
		return
	}
	_ = r.cmd.Process.Kill()
	_ = r.cmd.Wait()
	r.cmd = nil
}
