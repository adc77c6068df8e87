package adaptertest

import (
	"bufio"
	"fmt"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"
)

// CheckStreamedBodyLimit posts a 64 MiB body to PathPlain of the server at
// addr (which must serve NewRoutes with its body streamed to the handler)
// and checks that it is answered 413 after allocating no more than a few
// MiB: the adapter must stop reading a stream at MaxBodyBytes+1.
func CheckStreamedBodyLimit(t *testing.T, addr string) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	const size = 64 << 20
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	w := bufio.NewWriter(conn)
	fmt.Fprintf(w, "POST %s?%s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", PathPlain, SignedQuery(Now, "1"), size)
	chunk := strings.Repeat(" ", 1<<20)
	for range size >> 20 {
		if _, err := w.WriteString(chunk); err != nil {
			break // the server stopped reading: what a limit looks like
		}
	}
	_ = w.Flush()
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	status, _ := bufio.NewReader(conn).ReadString('\n')
	runtime.ReadMemStats(&after)
	if !strings.Contains(status, " 413 ") {
		t.Fatalf("status line %q, want 413", status)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 8<<20 {
		t.Errorf("a %d MiB body over a %d-byte limit allocated %d MiB", size>>20, MaxBodyBytes, grew>>20)
	}
}
