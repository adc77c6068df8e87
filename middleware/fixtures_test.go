package middleware

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"log/slog"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/wxsub/wxsub/codec"
)

// The worked examples (token, timestamps, nonces, signatures, ciphertext)
// of WeChat's message-push documentation:
// https://developers.weixin.qq.com/miniprogram/dev/framework/server-ability/message-push.html
const (
	token  = "AAAAA"
	aesKey = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	appID  = "wxba5fad812f8e6fb9"

	v1Timestamp = "1714036504"
	v1Nonce     = "1514711492"
	v1Echostr   = "4375120948345356249"
	v1Signature = "f464b24fc39322e44b38aa78f5edd27bd1441696"

	v2Timestamp = "1714037059"
	v2Nonce     = "486452656"
	v2Signature = "899cf89e464efb63f54ddac96b0a0a235f53aa78"
	v2Body      = `{"ToUserName":"gh_97417a04a28d","FromUserName":"o9AgO5Kd5ggOC-bXrbNODIiE3bGY","CreateTime":1714037059,"MsgType":"event","Event":"debug_demo","debug_str":"hello world"}`

	v3Timestamp    = "1714112445"
	v3Nonce        = "415670741"
	v3Signature    = "6c5c811b55cc85e0e1b54100749188c20beb3f5d"
	v3MsgSignature = "046e02f8204d34f8ba5fa3b1db94908f3df2e9b3"
	v3Encrypt      = "+qdx1OKCy+5JPCBFWw70tm0fJGb2Jmeia4FCB7kao+/Q5c/ohsOzQHi8khUOb05JCpj0JB4RvQMkUyus8TPxLKJGQqcvZqzDpVzazhZv6JsXUnnR8XGT740XgXZUXQ7vJVnAG+tE8NUd4yFyjPy7GgiaviNrlCTj+l5kdfMuFUPpRSrfMZuMcp3Fn2Pede2IuQrKEYwKSqFIZoNqJ4M8EajAsjLY2km32IIjdf8YL/P50F7mStwntrA2cPDrM1kb6mOcfBgRtWygb3VIYnSeOBrebufAlr7F9mFUPAJGj04="
	v3Body         = `{"ToUserName":"gh_97417a04a28d","Encrypt":"` + v3Encrypt + `"}`

	// now is the clock of most tests: a fixed time near the pushes below.
	now = int64(1714112445)
	// openID and ghID are the user and mini-program of the pushes below.
	openID = "o9AgO5Kd5ggOC-bXrbNODIiE3bGY"
	ghID   = "gh_97417a04a28d"
)

func clock(unix int64) func() time.Time { return func() time.Time { return time.Unix(unix, 0) } }

func newEndpoint(t testing.TB, cfg Config) *Endpoint {
	t.Helper()
	if cfg.Token == "" {
		cfg.Token = token
	}
	if cfg.Now == nil {
		cfg.Now = clock(now)
	}
	e, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { closeWithin(t, e, 10*time.Second) })
	return e
}

// closeWithin closes e, failing the test unless Close returns nil within d.
func closeWithin(t testing.TB, e *Endpoint, d time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	if err := e.Close(ctx); err != nil {
		t.Errorf("Close: %v", err)
	}
}

// signedQuery is the query of a plaintext push (or URL check) signed with
// token at timestamp ts.
func signedQuery(ts int64, nonce string) string {
	t := strconv.FormatInt(ts, 10)
	return "signature=" + codec.Signature(token, t, nonce) + "&timestamp=" + t + "&nonce=" + nonce + "&openid=" + openID
}

func post(query, body string) Request {
	return Request{Method: "POST", RawQuery: query, Body: []byte(body)}
}

// plainPush is a signed plaintext POST of body at the test clock.
func plainPush(body string) Request { return post(signedQuery(now, "12345"), body) }

// sealed is an encrypted push: its query and body.
type sealed struct {
	query, body string
}

// seal encrypts body as a safe-mode push in format f (from the body's own
// first byte) at timestamp ts.
func seal(t testing.TB, body string, ts int64) sealed {
	t.Helper()
	c, err := codec.NewCipher(aesKey, appID)
	if err != nil {
		t.Fatal(err)
	}
	enc, err := c.Encrypt([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	tss := strconv.FormatInt(ts, 10)
	nonce := "987654"
	q := url.Values{}
	q.Set("signature", codec.Signature(token, tss, nonce))
	q.Set("timestamp", tss)
	q.Set("nonce", nonce)
	q.Set("openid", openID)
	q.Set("encrypt_type", "aes")
	q.Set("msg_signature", codec.Signature(token, tss, nonce, enc))
	to := ghID
	var m codec.Message
	if codec.Decode([]byte(body), &m) == nil {
		to = m.ToUserName
	}
	env := `{"ToUserName":"` + to + `","Encrypt":"` + enc + `"}`
	if body != "" && body[0] == '<' {
		env = "<xml><ToUserName><![CDATA[" + to + "]]></ToUserName><Encrypt><![CDATA[" + enc + "]]></Encrypt></xml>"
	}
	return sealed{query: q.Encode(), body: env}
}

func (s sealed) request() Request { return post(s.query, s.body) }

// popupXML is the popup push of WeChat's documented XML sample
// (https://developers.weixin.qq.com/miniprogram/dev/framework/open-ability/subscribe-message.html),
// with the given items, for user from at createTime.
func popupXML(from string, createTime int64, items ...[2]string) string {
	b := "<xml><ToUserName><![CDATA[" + ghID + "]]></ToUserName><FromUserName><![CDATA[" + from + "]]></FromUserName>" +
		"<CreateTime>" + strconv.FormatInt(createTime, 10) + "</CreateTime><MsgType><![CDATA[event]]></MsgType>" +
		"<Event><![CDATA[subscribe_msg_popup_event]]></Event><SubscribeMsgPopupEvent>"
	for _, it := range items {
		b += "<List><TemplateId><![CDATA[" + it[0] + "]]></TemplateId><SubscribeStatusString><![CDATA[" + it[1] +
			"]]></SubscribeStatusString><PopupScene>0</PopupScene></List>"
	}
	return b + "</SubscribeMsgPopupEvent></xml>"
}

// changeJSON is a subscribe_msg_change_event in the current JSON shape.
func changeJSON(from string, createTime int64, templateID, status string) string {
	return `{"ToUserName":"` + ghID + `","FromUserName":"` + from + `","CreateTime":` + strconv.FormatInt(createTime, 10) +
		`,"MsgType":"event","Event":"subscribe_msg_change_event","List":[{"TemplateId":"` + templateID +
		`","SubscribeStatusString":"` + status + `"}]}`
}

// textXML is a customer-service text message.
func textXML(msgID, content string) string {
	return "<xml><ToUserName><![CDATA[" + ghID + "]]></ToUserName><FromUserName><![CDATA[" + openID + "]]></FromUserName>" +
		"<CreateTime>1714112400</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[" + content +
		"]]></Content><MsgId>" + msgID + "</MsgId></xml>"
}

// logBuffer is a slog handler target safe for concurrent writes.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func newLogger() (*slog.Logger, *logBuffer) {
	lb := new(logBuffer)
	return slog.New(slog.NewTextHandler(lb, &slog.HandlerOptions{Level: slog.LevelDebug})), lb
}

func checkResponse(t testing.TB, name string, got Response, status int, body string) {
	t.Helper()
	if got.Status != status || string(got.Body) != body {
		t.Errorf("%s: got %d %q, want %d %q", name, got.Status, got.Body, status, body)
	}
}

// encryptedReply is the envelope of an encrypted passive reply.
type encryptedReply struct {
	encrypt, msgSignature, timestamp, nonce string
}

func parseEncryptedReply(t testing.TB, format string, body []byte) encryptedReply {
	t.Helper()
	if format == "json" {
		var v struct {
			Encrypt, MsgSignature, Nonce string
			TimeStamp                    json.Number
		}
		if err := json.Unmarshal(body, &v); err != nil {
			t.Fatalf("reply %s: %v", body, err)
		}
		return encryptedReply{v.Encrypt, v.MsgSignature, v.TimeStamp.String(), v.Nonce}
	}
	var v struct {
		Encrypt, MsgSignature, TimeStamp, Nonce string
	}
	if err := xml.Unmarshal(body, &v); err != nil {
		t.Fatalf("reply %s: %v", body, err)
	}
	return encryptedReply{v.Encrypt, v.MsgSignature, v.TimeStamp, v.Nonce}
}
