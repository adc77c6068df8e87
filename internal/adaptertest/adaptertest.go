// Package adaptertest is the one table of requests and expected responses
// that every adapter runs through a real server on 127.0.0.1, so that the
// three adapters are held to the same behaviour. It also has a minimal
// keep-alive HTTP client for the adapters' loopback benchmarks.
package adaptertest

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wxsub/wxsub/codec"
	"github.com/wxsub/wxsub/handlers"
	"github.com/wxsub/wxsub/middleware"
)

// The worked examples of WeChat's message-push documentation
// (https://developers.weixin.qq.com/miniprogram/dev/framework/server-ability/message-push.html)
// and the settings of the test routes.
const (
	Token  = "AAAAA"
	AESKey = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	AppID  = "wxba5fad812f8e6fb9"

	// Now is the clock of the routes (V3's timestamp); their replay window
	// of a day takes in V1 and V2 too.
	Now = int64(1714112445)
	// MaxBodyBytes is the body limit of the routes.
	MaxBodyBytes = 4096

	// OpenID and GhID are the user and mini-program of the pushes.
	OpenID = "o9AgO5Kd5ggOC-bXrbNODIiE3bGY"
	GhID   = "gh_97417a04a28d"
)

// Paths of the routes every adapter test mounts.
const (
	PathPlain = "/wechat/plain"
	PathSafe  = "/wechat/safe"
)

// Routes maps each path to its Endpoint.
type Routes map[string]*middleware.Endpoint

// NewRoutes builds fresh Endpoints for the table: PathPlain in plaintext
// mode and PathSafe in safe mode, both with a hook that hands text
// messages to customer service. They are closed when the test ends.
func NewRoutes(t testing.TB) Routes {
	t.Helper()
	mux := handlers.NewMux()
	mux.OnText(func(_ context.Context, m *handlers.TextMessage) error {
		m.TransferToCustomerService()
		return nil
	})
	base := middleware.Config{
		Token:        Token,
		Mux:          mux,
		Now:          func() time.Time { return time.Unix(Now, 0) },
		ReplayWindow: 24 * time.Hour,
		MaxBodyBytes: MaxBodyBytes,
	}
	safe := base
	safe.EncodingAESKey, safe.AppID, safe.Mode = AESKey, AppID, middleware.ModeSafe
	routes := Routes{}
	for path, cfg := range map[string]middleware.Config{PathPlain: base, PathSafe: safe} {
		e, err := middleware.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = e.Close(context.Background()) })
		routes[path] = e
	}
	return routes
}

// Case is one request and the response every adapter must give.
type Case struct {
	Name   string
	Method string
	Path   string
	Query  string
	Body   string

	Status      int
	ContentType string
	// Allow is the Allow header the response must carry ("" for none).
	Allow string
	// Want is the exact body, unless Check is set.
	Want string
	// Check, when set, checks the body instead of Want.
	Check func(t testing.TB, body []byte)
}

// Cases is the shared table. The cases run in order against fresh Routes:
// a later case may depend on an earlier one (a retry of a handled push).
func Cases(t testing.TB) []Case {
	text := middleware.ContentTypeText
	popup := PopupXML(1714112400)
	return []Case{
		{Name: "V1 URL check", Method: "GET", Path: PathPlain,
			Query:  "signature=f464b24fc39322e44b38aa78f5edd27bd1441696&echostr=4375120948345356249&timestamp=1714036504&nonce=1514711492",
			Status: 200, ContentType: text, Want: "4375120948345356249"},
		{Name: "URL check, bad signature", Method: "GET", Path: PathPlain,
			Query:  "signature=0000000000000000000000000000000000000000&echostr=1&timestamp=1714036504&nonce=1514711492",
			Status: 403, ContentType: text, Want: middleware.ReasonBadSignature},
		{Name: "URL check, escaped echostr", Method: "GET", Path: PathPlain,
			Query:  SignedQuery(Now, "n") + "&echostr=a%2Db%5F9",
			Status: 200, ContentType: text, Want: "a-b_9"},
		{Name: "URL check, echostr outside [0-9A-Za-z_-]", Method: "GET", Path: PathPlain,
			Query:  SignedQuery(Now, "n") + "&echostr=" + url.QueryEscape("<html><script>alert(document.domain)</script></html>"),
			Status: 400, ContentType: text, Want: middleware.ReasonBadEchostr},
		{Name: "V2 plaintext JSON", Method: "POST", Path: PathPlain,
			Query:  "signature=899cf89e464efb63f54ddac96b0a0a235f53aa78&timestamp=1714037059&nonce=486452656&openid=" + OpenID,
			Body:   `{"ToUserName":"gh_97417a04a28d","FromUserName":"o9AgO5Kd5ggOC-bXrbNODIiE3bGY","CreateTime":1714037059,"MsgType":"event","Event":"debug_demo","debug_str":"hello world"}`,
			Status: 200, ContentType: text, Want: "success"},
		{Name: "V3 safe JSON", Method: "POST", Path: PathSafe,
			Query: "signature=6c5c811b55cc85e0e1b54100749188c20beb3f5d&timestamp=1714112445&nonce=415670741&openid=" + OpenID +
				"&encrypt_type=aes&msg_signature=046e02f8204d34f8ba5fa3b1db94908f3df2e9b3",
			Body:   `{"ToUserName":"gh_97417a04a28d","Encrypt":"+qdx1OKCy+5JPCBFWw70tm0fJGb2Jmeia4FCB7kao+/Q5c/ohsOzQHi8khUOb05JCpj0JB4RvQMkUyus8TPxLKJGQqcvZqzDpVzazhZv6JsXUnnR8XGT740XgXZUXQ7vJVnAG+tE8NUd4yFyjPy7GgiaviNrlCTj+l5kdfMuFUPpRSrfMZuMcp3Fn2Pede2IuQrKEYwKSqFIZoNqJ4M8EajAsjLY2km32IIjdf8YL/P50F7mStwntrA2cPDrM1kb6mOcfBgRtWygb3VIYnSeOBrebufAlr7F9mFUPAJGj04="}`,
			Status: 200, ContentType: text, Want: "success"},
		{Name: "popup XML", Method: "POST", Path: PathPlain, Query: SignedQuery(Now, "1"), Body: popup,
			Status: 200, ContentType: text, Want: "success"},
		{Name: "popup XML retried", Method: "POST", Path: PathPlain, Query: SignedQuery(Now, "2"), Body: popup,
			Status: 200, ContentType: text, Want: "success"},
		{Name: "text, plain reply", Method: "POST", Path: PathPlain, Query: SignedQuery(Now, "3"), Body: TextXML("101", "help"),
			Status: 200, ContentType: middleware.ContentTypeXML,
			Want: "<xml><ToUserName><![CDATA[" + OpenID + "]]></ToUserName><FromUserName><![CDATA[" + GhID +
				"]]></FromUserName><CreateTime>1714112445</CreateTime><MsgType><![CDATA[transfer_customer_service]]></MsgType></xml>"},
		{Name: "text, encrypted reply", Method: "POST", Path: PathSafe, Query: sealedQuery(t, TextXML("102", "help")),
			Body: sealedBody(t, TextXML("102", "help")), Status: 200, ContentType: middleware.ContentTypeXML,
			Check: checkEncryptedTransfer},
		{Name: "safe route refuses plaintext", Method: "POST", Path: PathSafe, Query: SignedQuery(Now, "4"), Body: popup,
			Status: 400, ContentType: text, Want: middleware.ReasonPlaintextRefuse},
		{Name: "missing signature", Method: "POST", Path: PathPlain, Query: "timestamp=1714112445&nonce=1", Body: popup,
			Status: 401, ContentType: text, Want: middleware.ReasonMissingParams},
		{Name: "wrong signature", Method: "POST", Path: PathPlain,
			Query: "signature=899cf89e464efb63f54ddac96b0a0a235f53aa78&timestamp=1714112445&nonce=1", Body: popup,
			Status: 403, ContentType: text, Want: middleware.ReasonBadSignature},
		{Name: "stale timestamp", Method: "POST", Path: PathPlain, Query: SignedQuery(Now-2*86400, "1"), Body: popup,
			Status: 403, ContentType: text, Want: middleware.ReasonStaleTimestamp},
		{Name: "body one over the limit", Method: "POST", Path: PathPlain, Query: SignedQuery(Now, "5"),
			Body: strings.Repeat(" ", MaxBodyBytes+1), Status: 413, ContentType: text, Want: middleware.ReasonTooLarge},
		{Name: "body far over the limit", Method: "POST", Path: PathPlain, Query: SignedQuery(Now, "6"),
			Body: strings.Repeat("<", 1<<20), Status: 413, ContentType: text, Want: middleware.ReasonTooLarge},
		{Name: "body at the limit", Method: "POST", Path: PathPlain, Query: SignedQuery(Now, "7"),
			Body: popup + strings.Repeat(" ", MaxBodyBytes-len(popup)), Status: 200, ContentType: text, Want: "success"},
		{Name: "empty body", Method: "POST", Path: PathPlain, Query: SignedQuery(Now, "8"),
			Status: 400, ContentType: text, Want: middleware.ReasonMalformedBody},
		{Name: "malformed body", Method: "POST", Path: PathPlain, Query: SignedQuery(Now, "9"), Body: "<xml><ToUserName>",
			Status: 400, ContentType: text, Want: middleware.ReasonMalformedBody},
		{Name: "PUT", Method: "PUT", Path: PathPlain, Query: SignedQuery(Now, "10"), Body: popup,
			Status: 405, ContentType: text, Allow: middleware.AllowedMethods, Want: middleware.ReasonMethod},
		{Name: "DELETE", Method: "DELETE", Path: PathSafe, Status: 405, ContentType: text, Allow: middleware.AllowedMethods,
			Want: middleware.ReasonMethod},
		{Name: "OPTIONS", Method: "OPTIONS", Path: PathPlain, Status: 405, ContentType: text, Allow: middleware.AllowedMethods,
			Want: middleware.ReasonMethod},
	}
}

// Run sends every case of the table to the server at baseURL (scheme and
// host) and checks the responses, then the requests no client library
// sends as they are (see CheckFragment).
func Run(t *testing.T, baseURL string) {
	t.Helper()
	RunCases(t, baseURL, Cases(t))
	CheckFragment(t, strings.TrimPrefix(baseURL, "http://"))
}

// CheckFragment posts a signed push whose request target ends in a '#'
// fragment, over a raw connection to addr (a client library would strip
// it), and checks that it is answered as without one: net/http keeps the
// fragment in URL.RawQuery and fasthttp cuts it, so the route must.
func CheckFragment(t *testing.T, addr string) {
	t.Helper()
	c := Dial(t, addr)
	// The nonce comes last, so that a fragment left on the query would
	// become part of it and break the signature.
	ts := strconv.FormatInt(Now, 10)
	target := PathPlain + "?signature=" + codec.Signature(Token, ts, "12") + "&timestamp=" + ts + "&nonce=12#frag"
	status, body, err := c.RoundTrip(PostRequest(target, PopupXML(Now+12)))
	if err != nil {
		t.Fatalf("fragment: %v", err)
	}
	if status != 200 || string(body) != middleware.Success {
		t.Errorf("fragment: got %d %q, want 200 %q", status, body, middleware.Success)
	}
}

// StreamedCases is the table for a server that hands bodies over as a
// stream: every case but those whose body is far over the limit. Such a
// body is refused after MaxBodyBytes+1 bytes and the connection closed
// while the client is still writing, so a client sees a reset rather
// than the 413; CheckStreamedBodyLimit covers that case instead.
func StreamedCases(t testing.TB) []Case {
	var cases []Case
	for _, c := range Cases(t) {
		if len(c.Body) <= 2*MaxBodyBytes {
			cases = append(cases, c)
		}
	}
	return cases
}

// RunCases sends cases to the server at baseURL (scheme and host) and
// checks the responses.
func RunCases(t *testing.T, baseURL string, cases []Case) {
	t.Helper()
	client := &http.Client{Timeout: 10 * time.Second}
	t.Cleanup(client.CloseIdleConnections)
	for _, c := range cases {
		status, header, body := Do(t, client, baseURL, c.Method, c.Path, c.Query, c.Body)
		contentType := header.Get("Content-Type")
		if allow := header.Get("Allow"); allow != c.Allow {
			t.Errorf("%s: Allow %q, want %q", c.Name, allow, c.Allow)
		}
		if status != c.Status || contentType != c.ContentType {
			t.Errorf("%s: got %d %q, want %d %q (body %q)", c.Name, status, contentType, c.Status, c.ContentType, body)
			continue
		}
		if c.Check != nil {
			c.Check(t, body)
		} else if string(body) != c.Want {
			t.Errorf("%s: body %q, want %q", c.Name, body, c.Want)
		}
	}
}

// Do sends one request and returns the status, the header and the body.
func Do(t testing.TB, client *http.Client, baseURL, method, path, query, body string) (int, http.Header, []byte) {
	t.Helper()
	u := baseURL + path
	if query != "" {
		u += "?" + query
	}
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "text/xml")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the response: %v", method, path, err)
	}
	return resp.StatusCode, resp.Header, b
}

// SignedQuery is the query of a plaintext push signed at timestamp ts.
func SignedQuery(ts int64, nonce string) string {
	s := strconv.FormatInt(ts, 10)
	return "signature=" + codec.Signature(Token, s, nonce) + "&timestamp=" + s + "&nonce=" + nonce + "&openid=" + OpenID
}

// PopupXML is a two-item subscribe_msg_popup_event created at createTime.
func PopupXML(createTime int64) string {
	return "<xml><ToUserName><![CDATA[" + GhID + "]]></ToUserName><FromUserName><![CDATA[" + OpenID + "]]></FromUserName>" +
		"<CreateTime>" + strconv.FormatInt(createTime, 10) + "</CreateTime><MsgType><![CDATA[event]]></MsgType>" +
		"<Event><![CDATA[subscribe_msg_popup_event]]></Event><SubscribeMsgPopupEvent>" +
		"<List><TemplateId><![CDATA[VRR0UEO9VJOLs0MHlU0OilqX6MVFDwH3_3gz3Oc0NIc]]></TemplateId>" +
		"<SubscribeStatusString><![CDATA[accept]]></SubscribeStatusString><PopupScene>2</PopupScene></List>" +
		"<List><TemplateId><![CDATA[9nLIlbOQZC5Y89AZteFEux3WCXRRRG5Wfzkpssu4bLI]]></TemplateId>" +
		"<SubscribeStatusString><![CDATA[reject]]></SubscribeStatusString><PopupScene>2</PopupScene></List>" +
		"</SubscribeMsgPopupEvent></xml>"
}

// TextXML is a customer-service text message.
func TextXML(msgID, content string) string {
	return "<xml><ToUserName><![CDATA[" + GhID + "]]></ToUserName><FromUserName><![CDATA[" + OpenID + "]]></FromUserName>" +
		"<CreateTime>1714112400</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[" + content +
		"]]></Content><MsgId>" + msgID + "</MsgId></xml>"
}
