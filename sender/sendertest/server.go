// Package sendertest provides an in-process fake of WeChat's server API, in
// the spirit of net/http/httptest, for testing code that sends messages
// without a WeChat account or network.
//
// A Server listens on a loopback port and serves the endpoints package
// sender calls: /cgi-bin/token and /cgi-bin/stable_token (counting fetches,
// able to expire or invalidate every token on demand), subscription sends
// (recording each accepted send; replies scriptable per user and template:
// errcodes such as 43101 or -1, slow answers, dropped connections, HTTP
// 5xx), template management, uniform_send, customer-service messages,
// typing, temp media upload and download, and device sends. Every API call
// checks the access token as WeChat does (41001 missing, 40001 invalid,
// 42001 expired).
//
// Point a client at Server.URL:
//
//	srv := sendertest.NewServer()
//	defer srv.Close()
//	c, _ := sender.New(srv.AppID, srv.Secret, sender.WithBaseURL(srv.URL))
package sendertest

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/goccy/go-json"
)

// Defaults of a new Server.
const (
	DefaultAppID    = "wx0123456789abcdef"
	DefaultSecret   = "sendertest-secret"
	DefaultTokenTTL = 2 * time.Hour
)

// Server is a fake WeChat API server. Its methods are safe for concurrent
// use, also while requests are being served.
type Server struct {
	// URL is the base URL, http://127.0.0.1:port, to pass to
	// sender.WithBaseURL.
	URL string
	// AppID and Secret are the credentials the token endpoints accept.
	AppID  string
	Secret string

	ttl    time.Duration
	hs     *httptest.Server
	closed chan struct{}
	once   sync.Once

	mu sync.Mutex
	tokenState
	sendState
	apiState
}

// Option configures a Server.
type Option func(*Server)

// WithApp sets the appid and secret the token endpoints accept.
func WithApp(appID, secret string) Option {
	return func(s *Server) { s.AppID, s.Secret = appID, secret }
}

// WithTokenTTL sets the lifetime of issued tokens (expires_in). The default
// is two hours, as WeChat's.
func WithTokenTTL(d time.Duration) Option { return func(s *Server) { s.ttl = d } }

// WithTemplate adds a private template to the ones the template endpoints
// list, and makes subscription sends check their template id against the
// list (40037 for an unknown one). Without it any template id is accepted.
func WithTemplate(t Template) Option {
	return func(s *Server) { s.templates = append(s.templates, t); s.checkTemplates = true }
}

// NewServer starts a Server on a loopback port. Close it when done.
func NewServer(opts ...Option) *Server {
	s := &Server{AppID: DefaultAppID, Secret: DefaultSecret, ttl: DefaultTokenTTL, closed: make(chan struct{})}
	s.tokens = map[string]*issued{}
	s.media = map[string]storedMedia{}
	for _, o := range opts {
		o(s)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /cgi-bin/token", s.handleToken)
	mux.HandleFunc("POST /cgi-bin/stable_token", s.handleStableToken)
	mux.HandleFunc("POST /cgi-bin/message/subscribe/send", s.authed(s.handleSubscribeSend))
	mux.HandleFunc("GET /wxaapi/newtmpl/gettemplate", s.recorded(s.handleListTemplates))
	mux.HandleFunc("POST /wxaapi/newtmpl/addtemplate", s.recorded(s.handleAddTemplate))
	mux.HandleFunc("POST /wxaapi/newtmpl/deltemplate", s.recorded(s.handleDeleteTemplate))
	mux.HandleFunc("GET /wxaapi/newtmpl/getcategory", s.recorded(s.handleCategories))
	mux.HandleFunc("GET /wxaapi/newtmpl/getpubtemplatetitles", s.recorded(s.handlePublicTitles))
	mux.HandleFunc("GET /wxaapi/newtmpl/getpubtemplatekeywords", s.recorded(s.handlePublicKeywords))
	mux.HandleFunc("POST /cgi-bin/message/wxopen/template/uniform_send", s.recorded(s.handleUniformSend))
	mux.HandleFunc("POST /cgi-bin/message/custom/send", s.recorded(s.handleCustomSend))
	mux.HandleFunc("POST /cgi-bin/message/custom/typing", s.recorded(s.handleTyping))
	mux.HandleFunc("POST /cgi-bin/media/upload", s.recorded(s.handleMediaUpload))
	mux.HandleFunc("GET /cgi-bin/media/get", s.recorded(s.handleMediaGet))
	mux.HandleFunc("POST /cgi-bin/message/device/subscribe/send", s.recorded(s.handleDeviceSend))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, 40066, "invalid url")
	})
	s.hs = httptest.NewServer(mux)
	s.URL = s.hs.URL
	return s
}

// Close stops the server, first releasing requests that wait in a scripted
// delay, and waits for the others to finish.
func (s *Server) Close() {
	s.once.Do(func() {
		close(s.closed)
		s.hs.Close()
	})
}

// Request is one recorded API call (other than token fetches and
// subscription sends, which have their own records).
type Request struct {
	Method string
	Path   string
	// Query is the query without access_token.
	Query url.Values
	// ContentType and Body are the request's, Body read in full.
	ContentType string
	Body        []byte
}

type apiState struct {
	requests       []Request
	templates      []Template
	checkTemplates bool
	nextTemplate   int
	media          map[string]storedMedia
	nextMedia      int
}

// Requests returns the recorded API calls, oldest first.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// maxBody bounds what the server reads of a request body.
const maxBody = 32 << 20

// authed wraps h with the access-token check.
func (s *Server) authed(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if code, msg := s.checkToken(r.URL.Query().Get("access_token")); code != 0 {
			s.countRejected(r)
			writeError(w, code, msg)
			return
		}
		h(w, r)
	}
}

// recorded wraps h with the access-token check and records the request,
// handing h the body it read.
func (s *Server) recorded(h func(w http.ResponseWriter, r *http.Request, body []byte)) http.HandlerFunc {
	return s.authed(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
		if err != nil {
			writeError(w, 47001, "data format error")
			return
		}
		q := r.URL.Query()
		q.Del("access_token")
		s.mu.Lock()
		s.requests = append(s.requests, Request{
			Method: r.Method, Path: r.URL.Path, Query: q, ContentType: r.Header.Get("Content-Type"), Body: body,
		})
		s.mu.Unlock()
		h(w, r, body)
	})
}

func writeJSON(w http.ResponseWriter, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	_, _ = w.Write(b)
}

type errorAnswer struct {
	ErrCode int    `json:"errcode"`
	ErrMsg  string `json:"errmsg"`
}

func writeError(w http.ResponseWriter, code int, msg string) {
	if msg == "" {
		msg = ErrMsg(code)
	}
	writeJSON(w, errorAnswer{code, msg})
}

func writeOK(w http.ResponseWriter) { writeJSON(w, errorAnswer{0, "ok"}) }

// ErrMsg returns the errmsg WeChat sends with code (a generic one for codes
// it does not know).
func ErrMsg(code int) string {
	switch code {
	case 0:
		return "ok"
	case -1:
		return "system error"
	case 40001:
		return "invalid credential, access_token is invalid or not latest"
	case 40002:
		return "invalid grant_type"
	case 40003:
		return "invalid openid"
	case 40004:
		return "invalid media type"
	case 40007:
		return "invalid media_id"
	case 40013:
		return "invalid appid"
	case 40014:
		return "invalid access_token"
	case 40037:
		return "invalid template_id"
	case 40097:
		return "invalid args"
	case 40125:
		return "invalid appsecret"
	case 41001:
		return "access_token missing"
	case 41005:
		return "media data missing"
	case 41030:
		return "invalid page"
	case 42001:
		return "access_token expired"
	case 43101:
		return "user refuse to accept the msg"
	case 45009:
		return "reach max api daily quota limit"
	case 45011:
		return "api minute-quota reach limit"
	case 45015:
		return "response out of time limit or subscription is canceled"
	case 45047:
		return "out of response count limit"
	case 47001:
		return "data format error"
	case 47003:
		return "argument invalid! data.thing1.value is invalid"
	}
	return "error " + strconv.Itoa(code)
}
