package httpadapter

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/wxsub/wxsub/internal/adaptertest"
	"github.com/wxsub/wxsub/middleware"
)

func limitEndpoint(t *testing.T, maxBody int64) *middleware.Endpoint {
	t.Helper()
	e, err := middleware.New(middleware.Config{Token: adaptertest.Token, MaxBodyBytes: maxBody, ReplayWindow: middleware.NoReplayCheck})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close(context.Background()) })
	return e
}

// MaxBodyBytes: math.MaxInt64 ("no practical limit") once made the
// adapter's limit, MaxBodyBytes()+1, overflow to a negative number:
// nothing was read and every push was answered 400 "malformed body".
// Found by review.
func TestMaxBodyBytesMaxInt64(t *testing.T) {
	srv := httptest.NewServer(New(limitEndpoint(t, math.MaxInt64)))
	defer srv.Close()
	client := srv.Client()
	defer client.CloseIdleConnections()
	status, _, body := adaptertest.Do(t, client, srv.URL, "POST", "/", adaptertest.SignedQuery(adaptertest.Now, "1"),
		adaptertest.PopupXML(1))
	if status != 200 || string(body) != middleware.Success {
		t.Errorf("got %d %q, want 200 success", status, body)
	}
}

// A POST whose Body is nil (a client-style *http.Request handed to
// ServeHTTP by a wrapper or a test) once made the handler panic. It is an
// empty body: 400 malformed. Found by review. No server sends such a
// request, so this one is handed to the handler directly.
func TestNilBodyNoPanic(t *testing.T) {
	h := New(limitEndpoint(t, 0))
	req := httptest.NewRequest("POST", "/?"+adaptertest.SignedQuery(adaptertest.Now, "1"), nil)
	req.Body = nil
	rec := httptest.NewRecorder()
	func() {
		defer func() {
			if p := recover(); p != nil {
				t.Errorf("ServeHTTP panicked on a nil Body: %v", p)
			}
		}()
		h.ServeHTTP(rec, req)
	}()
	if rec.Code != 400 || rec.Body.String() != middleware.ReasonMalformedBody {
		t.Errorf("got %d %q, want 400 %q", rec.Code, rec.Body, middleware.ReasonMalformedBody)
	}
}

// errReader fails every read, as a connection dropped mid-body does.
type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("connection reset") }

// A body that cannot be read is answered 400 with a Reason, like every
// other rejection, on every adapter. A client whose body fails cannot read
// the answer, so this one is handed to the handler directly.
func TestUnreadableBody(t *testing.T) {
	h := New(limitEndpoint(t, 0))
	req := httptest.NewRequest("POST", "/?"+adaptertest.SignedQuery(adaptertest.Now, "1"), errReader{})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 400 || rec.Body.String() != middleware.ReasonUnreadableBody ||
		rec.Header().Get("Content-Type") != middleware.ContentTypeText {
		t.Errorf("got %d %q %q, want 400 %q", rec.Code, rec.Header().Get("Content-Type"), rec.Body, middleware.ReasonUnreadableBody)
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
