package fasthttpadapter

import (
	"context"
	"fmt"
	"math"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/wxsub/wxsub/internal/adaptertest"
	"github.com/wxsub/wxsub/middleware"
)

// With MaxBodyBytes: math.MaxInt64, NewHandler's limit e.MaxBodyBytes()+1
// once overflowed to a negative number, so that io.LimitReader yielded
// nothing: with StreamRequestBody every push was answered 400 "malformed
// body" (fiberadapter too, which uses this Handler). Found by review.
func TestStreamedMaxBodyBytesMaxInt64(t *testing.T) {
	e, err := middleware.New(middleware.Config{Token: adaptertest.Token, MaxBodyBytes: math.MaxInt64, ReplayWindow: middleware.NoReplayCheck})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close(context.Background()) })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &fasthttp.Server{Handler: New(e), StreamRequestBody: true}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Shutdown() })
	client := &http.Client{Timeout: 5 * time.Second}
	defer client.CloseIdleConnections()
	resp, err := client.Post("http://"+ln.Addr().String()+"/?"+adaptertest.SignedQuery(adaptertest.Now, "1"), "text/xml",
		strings.NewReader(adaptertest.PopupXML(1)))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("status %d, want 200", resp.StatusCode)
	}
}

func TestNewNilEndpointPanics(t *testing.T) {
	defer func() {
		if p := recover(); p == nil || !strings.Contains(fmt.Sprint(p), "needs an Endpoint") {
			t.Errorf("recovered %v, want a panic that names the missing Endpoint", p)
		}
	}()
	New(nil)
}
