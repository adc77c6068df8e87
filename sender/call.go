package sender

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"sync/atomic"

	"github.com/goccy/go-json"
)

// Limits on answers read into memory.
const (
	maxJSONAnswer  = 1 << 20
	maxMediaAnswer = 20 << 20
)

var errTooLarge = errors.New("wxsub/sender: answer too large")

// apiStatus is the errcode and errmsg every WeChat answer may carry.
type apiStatus struct {
	ErrCode int    `json:"errcode"`
	ErrMsg  string `json:"errmsg"`
}

func (s *apiStatus) status() *apiStatus { return s }

// answer is a decoded WeChat answer: any struct embedding apiStatus.
type answer interface{ status() *apiStatus }

// apiRequest describes one API call.
type apiRequest struct {
	method string
	path   string
	// query is extra encoded query, without access_token.
	query string
	// body is owned by the caller, who releases it after the call.
	body        *reqBuf
	contentType string
	// auth adds the access token and enables the refresh-once retry.
	auth bool
	// idempotent calls may be repeated after the request reached WeChat
	// (5xx, a timeout, a dropped connection). Others, the sends, may not.
	idempotent bool
	// media receives a non-JSON answer's bytes and content type.
	media *mediaAnswer
}

type mediaAnswer struct {
	ok          bool
	data        []byte
	contentType string
}

// call runs req and decodes the answer into out (which may be nil). It
// repeats the call by the retry policy when that cannot deliver twice, and
// once more with a fresh token after an invalid-token answer.
func (c *Client) call(ctx context.Context, req *apiRequest, out answer) error {
	if out == nil {
		out = new(apiStatus)
	}
	attempt, refreshed := 0, false
	for {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("wxsub/sender: %s: %w", req.path, err)
		}
		attempt++
		token := ""
		if req.auth {
			t, err := c.tokens.Token(ctx)
			if err != nil {
				return fmt.Errorf("wxsub/sender: %s: access token: %w", req.path, err)
			}
			token = t.AccessToken
		}
		retry, err := c.once(ctx, req, token, out)
		if err == nil {
			st := out.status()
			switch {
			case st.ErrCode == CodeOK:
				return nil
			case isTokenCode(st.ErrCode) && req.auth && !refreshed:
				// WeChat rejected the token without acting on the
				// request: drop it (only if it is still the cached one)
				// and try once more with a fresh one.
				refreshed = true
				attempt--
				c.log.LogAttrs(ctx, slog.LevelInfo, "wxsub/sender: access token rejected, refreshing",
					slog.String("api", req.path), slog.Int("errcode", st.ErrCode))
				if ierr := c.tokens.Invalidate(ctx, token); ierr != nil {
					return fmt.Errorf("wxsub/sender: %s: invalidating the access token: %w", req.path, ierr)
				}
				continue
			}
			err = &APIError{Code: st.ErrCode, Msg: st.ErrMsg, API: req.path}
			retry = st.ErrCode == CodeBusy
		}
		if !retry || attempt >= c.retry.MaxAttempts {
			return err
		}
		if cerr := ctx.Err(); cerr != nil {
			if errors.Is(err, cerr) {
				return err
			}
			return fmt.Errorf("%w; retry abandoned: %w", err, cerr)
		}
		d := c.retry.delay(attempt)
		c.log.LogAttrs(ctx, slog.LevelWarn, "wxsub/sender: retrying",
			slog.String("api", req.path), slog.Int("attempt", attempt+1), slog.Duration("delay", d), slog.Any("error", err))
		if serr := sleep(ctx, d); serr != nil {
			return fmt.Errorf("%w; retry abandoned: %w", err, serr)
		}
	}
}

// once makes one HTTP exchange and decodes the answer into out. On error
// it reports whether repeating the call is safe and useful.
func (c *Client) once(ctx context.Context, req *apiRequest, token string, out answer) (retry bool, err error) {
	u := c.baseURL + req.path
	switch {
	case token != "" && req.query != "":
		u += "?access_token=" + url.QueryEscape(token) + "&" + req.query
	case token != "":
		u += "?access_token=" + url.QueryEscape(token)
	case req.query != "":
		u += "?" + req.query
	}
	tr := &writeTrace{}
	hr, err := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, tr.clientTrace()), req.method, u, nil)
	if err != nil {
		return false, fmt.Errorf("wxsub/sender: %s: %w", req.path, err)
	}
	if req.body != nil {
		// A *bytes.Reader lets the transport send headers and body in one
		// write; the buffer stays ours until the transport reports it
		// written. No GetBody: the transport must not replay a send on its
		// own, the retry rules above decide.
		req.body.refs.Add(1)
		tr.body.Store(req.body)
		hr.Body = io.NopCloser(bytes.NewReader(req.body.b))
		hr.ContentLength = int64(len(req.body.b))
		hr.Header.Set("Content-Type", req.contentType)
	}
	resp, err := c.http.Do(hr)
	if err != nil {
		err = redact(err, c.baseURL+req.path)
		if tr.mayHaveArrived() && !req.idempotent {
			return false, fmt.Errorf("%w: %s: %w", ErrDeliveryUnknown, req.path, err)
		}
		return true, fmt.Errorf("wxsub/sender: %s: %w", req.path, err)
	}
	rb := getRespBuf()
	defer putRespBuf(rb)
	limit := maxJSONAnswer
	if req.media != nil {
		limit = maxMediaAnswer
	}
	rerr := rb.readAll(resp.Body, limit)
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()

	if resp.StatusCode != http.StatusOK {
		err = &HTTPError{API: req.path, StatusCode: resp.StatusCode}
		if resp.StatusCode < 500 {
			return false, err
		}
		if !req.idempotent {
			return false, fmt.Errorf("%w: %w", ErrDeliveryUnknown, err)
		}
		return true, err
	}
	if rerr != nil {
		rerr = redact(rerr, c.baseURL+req.path)
		if !req.idempotent {
			return false, fmt.Errorf("%w: %s: reading the answer: %w", ErrDeliveryUnknown, req.path, rerr)
		}
		return rerr != errTooLarge, fmt.Errorf("wxsub/sender: %s: reading the answer: %w", req.path, rerr)
	}
	if req.media != nil && !isJSON(resp.Header.Get("Content-Type"), rb.b) {
		req.media.ok = true
		req.media.data = append([]byte(nil), rb.b...)
		req.media.contentType = resp.Header.Get("Content-Type")
		*out.status() = apiStatus{}
		return false, nil
	}
	if err := decodeAnswer(rb.b, out); err != nil {
		err = fmt.Errorf("wxsub/sender: %s: decoding the answer: %w", req.path, err)
		if !req.idempotent {
			return false, fmt.Errorf("%w: %w", ErrDeliveryUnknown, err)
		}
		return false, err
	}
	return false, nil
}

// decodeAnswer decodes a JSON answer into out, clearing its status first
// (success answers may omit errcode).
func decodeAnswer(b []byte, out answer) error {
	*out.status() = apiStatus{}
	return json.Unmarshal(b, out)
}

// isJSON reports whether an answer is a JSON object, by its content type
// or, when that is vague, by its first byte.
func isJSON(contentType string, body []byte) bool {
	mt, _, _ := mime.ParseMediaType(contentType)
	switch mt {
	case "application/json", "text/json":
		return true
	case "", "text/plain", "application/octet-stream":
		for _, b := range body {
			switch b {
			case ' ', '\t', '\r', '\n':
				continue
			}
			return b == '{'
		}
	}
	return false
}

// redact drops the query (access token, secret) from the URL a
// *url.Error prints.
func redact(err error, plain string) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		c := *ue
		c.URL = plain
		return &c
	}
	return err
}

// writeTrace learns from net/http/httptrace whether a request may have
// reached the server, and releases the request body once it was written.
type writeTrace struct {
	started atomic.Bool // the transport began (it supports tracing)
	headers atomic.Bool // the request headers were written
	wrote   atomic.Bool // the whole request was written
	failed  atomic.Bool // writing the request failed
	body    atomic.Pointer[reqBuf]
}

func (w *writeTrace) clientTrace() *httptrace.ClientTrace {
	return &httptrace.ClientTrace{
		GetConn:      func(string) { w.started.Store(true) },
		WroteHeaders: func() { w.headers.Store(true) },
		WroteRequest: func(i httptrace.WroteRequestInfo) {
			if i.Err != nil {
				w.failed.Store(true)
				return
			}
			w.wrote.Store(true)
			if b := w.body.Swap(nil); b != nil {
				b.release()
			}
		},
	}
}

// mayHaveArrived is false only when the transport reported that it never
// finished writing the request: it began (GetConn) and either never wrote
// the headers or reported that the write failed. Headers written without
// a verdict on the body count as arrived: HTTP/2 returns from RoundTrip on
// a deadline while its writer may still finish the body. A transport that
// reports nothing is assumed to have written the request.
func (w *writeTrace) mayHaveArrived() bool {
	switch {
	case !w.started.Load(), w.wrote.Load():
		return true
	case w.failed.Load():
		return false
	}
	return w.headers.Load()
}
