package adaptertest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"testing"
	"time"
)

// Client is a minimal HTTP/1.1 client over one keep-alive connection, for
// loopback benchmarks: it costs so little itself that the server's share
// of a round trip dominates, which a full client would blur.
type Client struct {
	conn net.Conn
	r    *bufio.Reader
	body []byte
}

// Dial connects to addr (host:port).
func Dial(t testing.TB, addr string) *Client {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return &Client{conn: conn, r: bufio.NewReaderSize(conn, 16<<10)}
}

// PostRequest renders a POST of body to target (path and query) as raw
// HTTP/1.1 bytes, for Client.RoundTrip.
func PostRequest(target, body string) []byte {
	return []byte("POST " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/xml\r\n" +
		"Content-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body)
}

// RoundTrip writes a raw request and reads the response's status and
// body. The body is valid until the next call.
func (c *Client) RoundTrip(req []byte) (status int, body []byte, err error) {
	if _, err := c.conn.Write(req); err != nil {
		return 0, nil, err
	}
	line, err := c.r.ReadSlice('\n')
	if err != nil {
		return 0, nil, err
	}
	// "HTTP/1.1 200 OK\r\n"
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) {
		return 0, nil, fmt.Errorf("adaptertest: bad status line %q", line)
	}
	status, err = strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, nil, fmt.Errorf("adaptertest: bad status line %q", line)
	}
	length := -1
	for {
		line, err = c.r.ReadSlice('\n')
		if err != nil {
			return 0, nil, err
		}
		if len(line) <= 2 {
			break
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if ok && bytes.EqualFold(name, []byte("Content-Length")) {
			length = 0
			for _, d := range bytes.TrimSpace(value) {
				if d < '0' || d > '9' || length > 1<<30 {
					return 0, nil, fmt.Errorf("adaptertest: bad Content-Length %q", value)
				}
				length = length*10 + int(d-'0')
			}
		}
	}
	if length < 0 {
		return 0, nil, errors.New("adaptertest: response without Content-Length")
	}
	if cap(c.body) < length {
		c.body = make([]byte, length)
	}
	c.body = c.body[:length]
	if _, err := io.ReadFull(c.r, c.body); err != nil {
		return 0, nil, err
	}
	return status, c.body, nil
}
