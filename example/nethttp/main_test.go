package main

import (
	"net/http/httptest"
	"os"
	"testing"

	"github.com/wxsub/wxsub/example/internal/app"
	"github.com/wxsub/wxsub/example/internal/apptest"
	"github.com/wxsub/wxsub/internal/redistest"
)

func serveForTest(t *testing.T, a *app.App) string {
	srv := httptest.NewServer(a.Handler())
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestMain says, after the tests, how many were skipped for want of Redis.
func TestMain(m *testing.M) { os.Exit(redistest.Main(m)) }

func TestContract(t *testing.T) {
	apptest.Run(t, serveForTest, nil)
}

func TestContractWithRedis(t *testing.T) {
	apptest.Run(t, serveForTest, map[string]string{"REDIS_URL": redistest.Addr(t)})
}
