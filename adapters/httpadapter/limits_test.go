package httpadapter

import (
	"context"
	"math"
	"net/http/httptest"
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
