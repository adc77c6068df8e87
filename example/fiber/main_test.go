package main

import (
	"net"
	"os"
	"testing"

	"github.com/wxsub/wxsub/example/internal/app"
	"github.com/wxsub/wxsub/example/internal/apptest"
	"github.com/wxsub/wxsub/internal/redistest"
)

func serveForTest(t *testing.T, a *app.App) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := a.FiberApp()
	go func() { _ = f.Listener(ln) }()
	t.Cleanup(func() { _ = f.Shutdown() })
	return "http://" + ln.Addr().String()
}

// TestMain says, after the tests, how many were skipped for want of Redis.
func TestMain(m *testing.M) { os.Exit(redistest.Main(m)) }

func TestContract(t *testing.T) {
	apptest.Run(t, serveForTest, nil)
}

func TestContractWithRedis(t *testing.T) {
	apptest.Run(t, serveForTest, map[string]string{"REDIS_URL": redistest.Addr(t)})
}
