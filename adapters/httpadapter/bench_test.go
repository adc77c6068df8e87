package httpadapter

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/wxsub/wxsub/internal/adaptertest"
)

// BenchmarkRoundTrip measures a push's round trip over loopback through
// the adapter and the whole Endpoint, against a bare net/http handler that
// reads the body and writes "success".
func BenchmarkRoundTrip(b *testing.B) {
	b.Run("wxsub", func(b *testing.B) {
		mux := http.NewServeMux()
		mux.Handle(adaptertest.BenchPath, New(adaptertest.BenchEndpoint(b)))
		srv := httptest.NewServer(mux)
		defer srv.Close()
		adaptertest.RoundTrips(b, strings.TrimPrefix(srv.URL, "http://"))
	})
	b.Run("bare", func(b *testing.B) {
		mux := http.NewServeMux()
		mux.HandleFunc(adaptertest.BenchPath, func(w http.ResponseWriter, r *http.Request) {
			if _, err := io.ReadAll(r.Body); err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			_, _ = w.Write([]byte("success"))
		})
		srv := httptest.NewServer(mux)
		defer srv.Close()
		adaptertest.RoundTrips(b, strings.TrimPrefix(srv.URL, "http://"))
	})
}
