package app

import (
	"io"
	"net/http"

	"github.com/goccy/go-json"

	"github.com/wxsub/wxsub/adapters/httpadapter"
)

// Handler returns the app's routes for net/http: the callback route at
// /wechat/callback, POST /send, POST /schedule, GET and DELETE
// /schedule/{key}, GET /grants and GET /healthz.
func (a *App) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/wechat/callback", httpadapter.New(a.Endpoint))
	mux.HandleFunc("POST /send", func(w http.ResponseWriter, r *http.Request) {
		var req SendRequest
		if readJSON(w, r, &req) {
			writeJSON(w, a.Send(r.Context(), req))
		}
	})
	mux.HandleFunc("POST /schedule", func(w http.ResponseWriter, r *http.Request) {
		var req ScheduleRequest
		if readJSON(w, r, &req) {
			writeJSON(w, a.Schedule(r.Context(), req))
		}
	})
	mux.HandleFunc("GET /schedule/{key}", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, a.ScheduleStatus(r.Context(), r.PathValue("key")))
	})
	mux.HandleFunc("DELETE /schedule/{key}", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, a.ScheduleCancel(r.Context(), r.PathValue("key")))
	})
	mux.HandleFunc("GET /grants", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		writeJSON(w, a.Grant(r.Context(), q.Get("openid"), q.Get("template_id")))
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "ok\n")
	})
	return mux
}

// readJSON decodes a JSON body of at most 64 KiB into v, or answers 400
// and reports false.
func readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 64<<10))
	if err == nil {
		err = json.Unmarshal(body, v)
	}
	if err != nil {
		writeJSON(w, BadJSON(err))
		return false
	}
	return true
}

func writeJSON(w http.ResponseWriter, res Result) {
	body, _ := json.Marshal(res.Body)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(res.Status)
	_, _ = w.Write(append(body, '\n'))
}
