package loadtest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/wxsub/wxsub/example/internal/app"
	"github.com/wxsub/wxsub/middleware"
	"github.com/wxsub/wxsub/sender/sendertest"
)

// serveEnv, set to a framework's name, makes the test binary serve the
// example app instead of running tests (see serveChild): the hostile-body
// scenario measures a server process of its own, whose peak RSS is its own.
const serveEnv = "WXSUB_LOADTEST_SERVE"

// serveChild serves the example app with framework on a loopback port, as
// the example program does, configured from the environment; it prints
// the address on stdout and serves until stdin is closed.
func serveChild(framework string) int {
	cfg, err := app.LoadConfig(os.Getenv)
	if err != nil {
		fmt.Fprintln(os.Stderr, "configuration:", err)
		return 2
	}
	// As example/nethttp and example/fiber log: info and above.
	a, err := app.New(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	stop := serveApp(framework, a, ln)
	fmt.Println(ln.Addr().String())
	_, _ = io.Copy(io.Discard, os.Stdin)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := stop(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// child is an example app served by a process of its own.
type child struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	base  string
}

// startChild starts the test binary as a server of the example app with
// framework and env (see serveChild).
func startChild(t *testing.T, framework string, env map[string]string) *child {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), serveEnv+"="+framework)
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: cmd, stdin: stdin}
	t.Cleanup(func() {
		if c.cmd.ProcessState == nil {
			_ = c.cmd.Process.Kill()
			_ = c.cmd.Wait()
		}
	})
	addr, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("the server process printed no address: %v", err)
	}
	c.base = "http://" + strings.TrimSpace(addr)
	return c
}

// peakRSS returns the child's peak resident set size (VmHWM), in bytes.
func (c *child) peakRSS(t *testing.T) int64 {
	t.Helper()
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", c.cmd.Process.Pid))
	if err != nil {
		t.Skipf("no /proc to read the peak RSS from: %v", err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				t.Fatalf("VmHWM: %v", err)
			}
			return kb << 10
		}
	}
	t.Skip("no VmHWM in /proc/<pid>/status")
	return 0
}

// stop ends the child and returns the CPU time it used.
func (c *child) stop(t *testing.T) time.Duration {
	t.Helper()
	_ = c.stdin.Close()
	if err := c.cmd.Wait(); err != nil {
		t.Errorf("server process: %v", err)
	}
	ru, ok := c.cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// hostileSize is the size of every body of the scenario: the route's
// default MaxBodyBytes, so that the server reads each whole.
const hostileSize = int(middleware.DefaultMaxBodyBytes)

// hostileBody returns a body of hostileSize bytes: junk (refused at its
// first byte), or an envelope without Encrypt stuffed with the smallest
// subscription items, under a JSON top-level List or as XML root <List>s.
func hostileBody(t *testing.T, kind string) []byte {
	t.Helper()
	var head, item, tail string
	switch kind {
	case "junk":
		return bytes.Repeat([]byte{'x'}, hostileSize)
	case "json_list":
		head, item, tail = `{"ToUserName":"`+gh+`","List":[`, `{"TemplateId":"T"},`, `{}]}`
	case "xml_list":
		head, item, tail = `<xml><ToUserName>`+gh+`</ToUserName>`, `<List><TemplateId>T</TemplateId></List>`, `</xml>`
	default:
		t.Fatalf("unknown body kind %q", kind)
	}
	b := make([]byte, 0, hostileSize)
	b = append(b, head...)
	for len(b)+len(item)+len(tail) <= hostileSize {
		b = append(b, item...)
	}
	b = append(b, tail...)
	for len(b) < hostileSize {
		b = append(b, ' ')
	}
	return b
}

// TestHostileBodiesRSS measures what unsigned 1 MiB safe-mode pushes cost
// the example net/http server: clients × bodies concurrent requests of one
// kind against a fresh server process each, with a forged msg_signature
// and no query signature (so that the route must look into the body for
// Encrypt), and once with a forged query signature too. The peak RSS and
// CPU time of each stuffed-envelope scenario must stay within 2× of the
// junk-body scenario: a stranger's body is read no further than the
// signature check needs.
func TestHostileBodiesRSS(t *testing.T) {
	f := gate(t)
	clients, perClient := 25, 2
	if f.name == "full" {
		clients, perClient = 200, 3
	}
	wechat := sendertest.NewServer()
	t.Cleanup(wechat.Close)
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	forged := strings.Repeat("0", 40)
	msgSigOnly := "timestamp=" + ts + "&nonce=1&encrypt_type=aes&msg_signature=" + forged
	withSig := "signature=" + forged + "&" + msgSigOnly

	type result struct {
		rss int64
		cpu time.Duration
	}
	run := func(t *testing.T, kind, query string) result {
		body := hostileBody(t, kind)
		c := startChild(t, "nethttp", appEnv(wechat, ""))
		client := newHTTPClient(clients)
		// Long enough for a server slowed down by the bodies to answer
		// every request, so that every scenario carries its whole load.
		client.Timeout = 2 * time.Minute
		defer client.CloseIdleConnections()
		idle := c.peakRSS(t)
		var wg sync.WaitGroup
		var mu sync.Mutex
		statuses := map[string]int{}
		for range clients {
			wg.Go(func() {
				for range perClient {
					status, reason := postBody(client, c.base+"/wechat/callback?"+query, body)
					mu.Lock()
					statuses[strconv.Itoa(status)+" "+reason]++
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		r := result{rss: c.peakRSS(t)}
		r.cpu = c.stop(t)
		t.Logf("%-9s %-22s peak RSS %4d MiB (idle %d MiB), CPU %v, answers %v",
			kind, queryName(query == withSig), r.rss>>20, idle>>20, r.cpu.Round(10*time.Millisecond), statuses)
		// A connection the loaded server timed out (its ReadTimeout) is
		// no answer, and allowed; every answer must refuse the push, and
		// nearly every request must have been answered, or the scenario
		// did not carry its load.
		answered := 0
		for answer, n := range statuses {
			if strings.HasPrefix(answer, "0 ") {
				continue
			}
			answered += n
			if !strings.HasPrefix(answer, "4") {
				t.Errorf("%s: answered %q, want a 4xx", kind, answer)
			}
		}
		if answered < clients*perClient*9/10 {
			t.Errorf("%s: %d of %d requests answered", kind, answered, clients*perClient)
		}
		return r
	}

	t.Logf("%d clients × %d bodies of %d bytes each", clients, perClient, hostileSize)
	base := run(t, "junk", msgSigOnly)
	for _, tc := range []struct{ kind, query string }{
		{"json_list", msgSigOnly}, {"xml_list", msgSigOnly}, {"json_list", withSig},
	} {
		r := run(t, tc.kind, tc.query)
		ratio := float64(r.rss) / float64(base.rss)
		t.Logf("%s, %s: peak RSS %.2f× the junk scenario's, CPU %.2f×",
			tc.kind, queryName(tc.query == withSig), ratio, float64(r.cpu)/float64(base.cpu))
		if ratio > 2 {
			t.Errorf("%s, %s: peak RSS %d MiB, %.2f× the junk scenario's %d MiB; want at most 2×",
				tc.kind, queryName(tc.query == withSig), r.rss>>20, ratio, base.rss>>20)
		}
	}
}

func queryName(withSignature bool) string {
	if withSignature {
		return "forged signature"
	}
	return "msg_signature only"
}

// postBody posts body to url and returns the status and the start of the
// answer; status 0 is a transport error.
func postBody(c *http.Client, url string, body []byte) (int, string) {
	resp, err := c.Post(url, "text/xml", bytes.NewReader(body))
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) {
			return 0, "net error"
		}
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 100))
	return resp.StatusCode, string(b)
}
