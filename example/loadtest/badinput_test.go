package loadtest

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wxsub/wxsub/middleware/pushtest"
	"github.com/wxsub/wxsub/sender/sendertest"
)

// exampleReadTimeout is the ReadTimeout both example servers set: it is
// what ends a slowloris body.
const exampleReadTimeout = 10 * time.Second

// TestBadInput sends the hostile corpus to the net/http and Fiber example
// apps: each request gets the status (and reason) the middleware package
// documents, nothing panics, a slowloris body is cut off by the server's
// read timeout while other requests are served, the app stays healthy,
// and the goroutine count returns to where it was.
func TestBadInput(t *testing.T) {
	gate(t)
	wechat := sendertest.NewServer()
	t.Cleanup(wechat.Close)
	bases := map[string]string{}
	logs := newLogCounter()
	for _, fw := range frameworks {
		_, bases[fw] = startApp(t, fw, appEnv(wechat, ""), logs)
	}
	client := newHTTPClient(4)
	wx, err := pushtest.New(pushtest.Config{Token: token})
	if err != nil {
		t.Fatal(err)
	}
	healthy := func(t *testing.T, base string) {
		t.Helper()
		resp, err := wx.Post(context.Background(), client, base+"/wechat/callback",
			pushtest.Popup(gh, "o_healthy", time.Now().UnixNano(), [2]string{"T1", "accept"}))
		if err != nil || resp.Status != http.StatusOK || string(resp.Body) != "success" {
			t.Errorf("a valid push after the corpus: %+v %v", resp, err)
		}
	}
	// Warm up both servers, then take the baseline.
	for _, fw := range frameworks {
		healthy(t, bases[fw])
	}
	client.CloseIdleConnections()
	time.Sleep(100 * time.Millisecond)
	before := goroutines()

	cases := corpus(t, wechat.AppID)
	t.Run("corpus", func(t *testing.T) {
		for _, fw := range frameworks {
			for _, h := range cases {
				status, body := sendHostile(t, client, bases[fw], h)
				if status == 0 && h.mayReset {
					continue
				}
				if status != h.status || h.reason != "" && body != h.reason {
					t.Errorf("%s %s: got %d %.60q, want %d %q", fw, h.name, status, body, h.status, h.reason)
				}
			}
			healthy(t, bases[fw])
		}
	})
	t.Run("slowloris", func(t *testing.T) {
		for _, fw := range frameworks {
			t.Run(fw, func(t *testing.T) {
				t.Parallel()
				slowloris(t, bases[fw], func() { healthy(t, bases[fw]) })
				healthy(t, bases[fw])
			})
		}
	})

	client.CloseIdleConnections()
	var after int
	deadline := time.Now().Add(15 * time.Second)
	for {
		after = goroutines()
		if after <= before || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("goroutines: %d before the corpus, %d after", before, after)
	if after > before {
		buf := make([]byte, 1<<20)
		t.Errorf("goroutines did not return to the baseline: %d before, %d after\n%s", before, after, buf[:runtime.Stack(buf, true)])
	}
	if n, first := logs.Problems(); n == 0 {
		t.Logf("the app logged no warnings for the corpus")
	} else {
		t.Logf("the app logged %d warnings or errors for the corpus (rejected requests), first:\n%s", n, first)
	}
}

// slowloris opens a push whose body trickles in one byte every 300 ms. The
// server must end it by its read timeout (with a 4xx, or by closing the
// connection), and serve other requests meanwhile (during runs while the
// body trickles).
func slowloris(t *testing.T, base string, during func()) {
	t.Helper()
	addr := strings.TrimPrefix(base, "http://")
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	head := fmt.Sprintf("POST /wechat/callback?%s HTTP/1.1\r\nHost: %s\r\nContent-Type: text/xml\r\nContent-Length: 4096\r\n\r\n<xml>",
		signedQuery(token, time.Now(), nil), addr)
	if _, err := conn.Write([]byte(head)); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Go(func() {
		tick := time.NewTicker(300 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				if _, err := conn.Write([]byte("x")); err != nil {
					return
				}
			}
		}
	})
	time.Sleep(time.Second)
	during()

	_ = conn.SetReadDeadline(start.Add(exampleReadTimeout + 3*time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	took := time.Since(start)
	close(stop)
	wg.Wait()
	switch {
	case err == nil:
		resp.Body.Close()
		t.Logf("slowloris answered %d after %v", resp.StatusCode, took.Round(time.Millisecond))
		if resp.StatusCode < 400 || resp.StatusCode >= 500 {
			t.Errorf("slowloris body answered %d, want a 4xx", resp.StatusCode)
		}
	case isTimeout(err):
		t.Errorf("slowloris body still open after %v; the read timeout is %v", took, exampleReadTimeout)
	default:
		t.Logf("slowloris connection closed after %v (%v)", took.Round(time.Millisecond), err)
	}
	if took > exampleReadTimeout+2*time.Second {
		t.Errorf("slowloris body ended after %v, want about the read timeout %v", took, exampleReadTimeout)
	}
}

// goroutines counts the live goroutines, less fasthttp's idle workers:
// fasthttp keeps a worker per recently busy connection for up to ten
// seconds (MaxIdleWorkerDuration) by design, bounded by its concurrency.
func goroutines() int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	count := 0
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.HasPrefix(g, "goroutine ") && !(strings.Contains(g, "[chan receive") && strings.Contains(g, "fasthttp.(*workerPool).workerFunc")) {
			count++
		}
	}
	return count
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}
