package pushtest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wxsub/wxsub/adapters/httpadapter"
	"github.com/wxsub/wxsub/codec"
	"github.com/wxsub/wxsub/handlers"
	"github.com/wxsub/wxsub/middleware"
	"github.com/wxsub/wxsub/middleware/pushtest"
	"github.com/wxsub/wxsub/store/memory"
)

const (
	token  = "AAAAA"
	aesKey = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	appID  = "wxba5fad812f8e6fb9"
	gh     = "gh_97417a04a28d"
	openID = "o9AgO5Kd5ggOC-bXrbNODIiE3bGY"
)

func messages(now int64) map[string]*codec.Message {
	return map[string]*codec.Message{
		"popup":  pushtest.Popup(gh, openID, now, [2]string{"T1", "accept"}, [2]string{"T2", "reject"}),
		"change": pushtest.Change(gh, openID, now, [2]string{"T1", "reject"}),
		"sent":   pushtest.Sent(gh, openID, now, "T1", "1864323726461255680", 0),
		"text":   pushtest.Text(gh, openID, now, "23456789012345678", `a <b> & "c" ]]> 中文`),
		"image":  pushtest.Image(gh, openID, now, "2", "http://example.com/p.jpg", "media-1"),
		"page":   pushtest.MiniProgramPage(gh, openID, now, "3", "Title", "wx123", "pages/index?x=1"),
		"enter":  pushtest.EnterSession(gh, openID, now, "button"),
	}
}

// comparable strips what decoding adds (Raw, Format) so an encoded message
// can be compared with the one it was built from.
func comparable(m codec.Message) codec.Message {
	m.Raw, m.Format = "", 0
	if len(m.Items) == 0 {
		m.Items = nil
	}
	return m
}

func TestEncodeDecodesBack(t *testing.T) {
	for name, m := range messages(1714037059) {
		for _, f := range []codec.Format{codec.XML, codec.JSON} {
			var got codec.Message
			body := pushtest.Encode(f, m)
			if err := codec.Decode(body, &got); err != nil {
				t.Fatalf("%s/%s: %v\n%s", name, f, err, body)
			}
			if !reflect.DeepEqual(comparable(got), comparable(*m)) {
				t.Errorf("%s/%s:\n got %+v\nwant %+v\nbody %s", name, f, comparable(got), comparable(*m), body)
			}
		}
	}
}

// recorder is a Mux that remembers the last push of every kind it saw.
type recorder struct {
	mu   sync.Mutex
	last map[string]*codec.Message
}

func newRecorder(t *testing.T) (*handlers.Mux, *recorder) {
	r := &recorder{last: map[string]*codec.Message{}}
	keep := func(kind string, m *codec.Message) error {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.last[kind] = m
		return nil
	}
	mux := handlers.NewMux()
	mux.OnSubscribePopup(func(_ context.Context, ev *handlers.SubscribePopupEvent) error { return keep("popup", ev.Message) })
	mux.OnSubscribeChange(func(_ context.Context, ev *handlers.SubscribeChangeEvent) error { return keep("change", ev.Message) })
	mux.OnSubscribeSent(func(_ context.Context, ev *handlers.SubscribeSentEvent) error { return keep("sent", ev.Message) })
	mux.OnText(func(_ context.Context, ev *handlers.TextMessage) error {
		ev.TransferToCustomerService()
		return keep("text", ev.Message)
	})
	mux.OnImage(func(_ context.Context, ev *handlers.ImageMessage) error { return keep("image", ev.Message) })
	mux.OnMiniProgramPage(func(_ context.Context, ev *handlers.MiniProgramPageMessage) error { return keep("page", ev.Message) })
	mux.OnEnterSession(func(_ context.Context, ev *handlers.EnterSessionEvent) error { return keep("enter", ev.Message) })
	return mux, r
}

// TestPushesReachTheirHooks sends every kind of push, in both formats and
// in all three modes, through a real Endpoint mounted on a loopback server,
// and checks each hook got exactly the message that was pushed.
func TestPushesReachTheirHooks(t *testing.T) {
	now := time.Unix(1714037059, 0)
	for _, mode := range []string{"plaintext", "safe", "compatible"} {
		for _, f := range []codec.Format{codec.XML, codec.JSON} {
			t.Run(mode+"/"+f.String(), func(t *testing.T) {
				mux, rec := newRecorder(t)
				cfg := middleware.Config{Token: token, Mux: mux, Now: func() time.Time { return now }}
				pcfg := pushtest.Config{Token: token, Format: f, Now: cfg.Now}
				if mode != "plaintext" {
					cfg.EncodingAESKey, cfg.AppID = aesKey, appID
					pcfg.EncodingAESKey, pcfg.AppID = aesKey, appID
					pcfg.Compatible = mode == "compatible"
				}
				e, err := middleware.New(cfg)
				if err != nil {
					t.Fatal(err)
				}
				srv := httptest.NewServer(httpadapter.New(e))
				defer srv.Close()
				p, err := pushtest.New(pcfg)
				if err != nil {
					t.Fatal(err)
				}
				ctx := context.Background()
				for kind, m := range messages(now.Unix()) {
					resp, err := p.Post(ctx, srv.Client(), srv.URL, m)
					if err != nil {
						t.Fatal(err)
					}
					if resp.Status != http.StatusOK {
						t.Fatalf("%s: status %d %s", kind, resp.Status, resp.Body)
					}
					if kind == "text" {
						checkTransferReply(t, p, f, resp.Body)
					} else if string(resp.Body) != codec.Success {
						t.Errorf("%s: body %q, want success", kind, resp.Body)
					}
					rec.mu.Lock()
					got := rec.last[kind]
					rec.mu.Unlock()
					if got == nil {
						t.Fatalf("%s: hook not called", kind)
					}
					want := comparable(*m)
					if mode == "compatible" {
						want.Encrypt = "" // the decrypted inner push has no Encrypt
					}
					if g := comparable(*got); !reflect.DeepEqual(g, want) {
						t.Errorf("%s:\n got %+v\nwant %+v", kind, g, want)
					}
				}
				// The same push again is a retry: answered success, hooks not rerun.
				rec.mu.Lock()
				rec.last = map[string]*codec.Message{}
				rec.mu.Unlock()
				again, err := p.Post(ctx, srv.Client(), srv.URL, messages(now.Unix())["popup"])
				if err != nil || again.Status != http.StatusOK || string(again.Body) != codec.Success {
					t.Fatalf("retry: %+v %v", again, err)
				}
				if rec.last["popup"] != nil {
					t.Error("a retried push ran its hook again")
				}
			})
		}
	}
}

func checkTransferReply(t *testing.T, p *pushtest.Pusher, f codec.Format, body []byte) {
	t.Helper()
	plain := body
	if p.Encrypted() {
		var err error
		if plain, err = p.DecryptReply(body); err != nil {
			t.Fatalf("transfer reply: %v (%s)", err, body)
		}
	}
	var reply codec.Message
	if err := codec.Decode(plain, &reply); err != nil {
		t.Fatalf("transfer reply %s: %v", plain, err)
	}
	if reply.MsgType != codec.MsgTypeTransferCustomerService || reply.ToUserName != openID || reply.FromUserName != gh {
		t.Errorf("transfer reply: %+v", reply)
	}
}

func TestURLCheck(t *testing.T) {
	e, err := middleware.New(middleware.Config{Token: token})
	if err != nil {
		t.Fatal(err)
	}
	p, err := pushtest.New(pushtest.Config{Token: token})
	if err != nil {
		t.Fatal(err)
	}
	resp := e.Serve(context.Background(), p.URLCheck("4375120948345356249"))
	if resp.Status != http.StatusOK || string(resp.Body) != "4375120948345356249" {
		t.Fatalf("URL check: %d %q", resp.Status, resp.Body)
	}
	wrong, _ := pushtest.New(pushtest.Config{Token: "other"})
	if resp := e.Serve(context.Background(), wrong.URLCheck("1")); resp.Status != http.StatusForbidden {
		t.Fatalf("URL check with the wrong token: %d", resp.Status)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	for _, cfg := range []pushtest.Config{
		{},
		{Token: "t", EncodingAESKey: "short", AppID: appID},
		{Token: "t", EncodingAESKey: aesKey},
		{Token: "t", Format: 9},
	} {
		if _, err := pushtest.New(cfg); err == nil {
			t.Errorf("New(%+v) accepted", cfg)
		}
	}
}

func TestEncodeJSONIsValidForAnyFieldSet(t *testing.T) {
	items := []codec.SubscribeItem{{TemplateID: "T1", Status: "accept"}}
	for _, m := range []*codec.Message{
		{},
		{Items: items},
		{Event: codec.EventSubscribePopup, Items: items},
		{ToUserName: gh},
		{Encrypt: "abc"},
	} {
		b := pushtest.Encode(codec.JSON, m)
		if !json.Valid(b) {
			t.Errorf("Encode(JSON, %+v) = %s: not JSON", m, b)
		}
		var back codec.Message
		if err := codec.Decode(b, &back); err != nil {
			t.Errorf("Encode(JSON, %+v) = %s: %v", m, b, err)
		}
	}
}

func TestCDATAEscape(t *testing.T) {
	body := string(pushtest.Encode(codec.XML, pushtest.Text(gh, openID, 1, "1", "x]]>y")))
	if strings.Count(body, "<![CDATA[") != 5 || !strings.Contains(body, "x]]]]><![CDATA[>y") {
		t.Fatalf("CDATA not split around ]]>: %s", body)
	}
}

// Example drives an Endpoint in safe mode with a popup push, signed and
// encrypted as WeChat sends it, and shows the grant the Endpoint recorded.
func Example() {
	ctx := context.Background()
	grants := memory.New()
	e, err := middleware.New(middleware.Config{
		Token:          "my-token",                                    // the admin console's Token
		EncodingAESKey: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", // its EncodingAESKey
		AppID:          "wx0123456789abcdef",                          // the mini-program's appid
		Grants:         grants,
	})
	if err != nil {
		log.Fatal(err)
	}
	defer e.Close(ctx)

	// The same Token, EncodingAESKey and AppID: the pushes are encrypted
	// (add Compatible: true for compatible mode's body). Leave the key and
	// the appid out for plaintext pushes.
	p, err := pushtest.New(pushtest.Config{
		Token:          "my-token",
		EncodingAESKey: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		AppID:          "wx0123456789abcdef",
		Format:         codec.JSON,
	})
	if err != nil {
		log.Fatal(err)
	}
	req, err := p.Request(pushtest.Popup("gh_123", "openid-1", time.Now().Unix(), [2]string{"TEMPLATE", "accept"}))
	if err != nil {
		log.Fatal(err)
	}
	resp := e.Serve(ctx, req) // a middleware.Response{Status, ContentType, Body, Allow}
	g, err := grants.Get(ctx, "openid-1", "TEMPLATE")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(resp.Status, string(resp.Body), g.Remaining)
	// Output: 200 success 1
}

// TestJSONNumbersAsDocumented is the regression test of issue 11 item 9:
// JSON pushes carried PopupScene, ErrorCode and CreateTime as numbers,
// where WeChat's documented subscription-event samples have strings, so
// a consumer declaring them as strings failed on pushes built here.
// NumericJSON (EncodeNumeric) builds the numeric form, which WeChat sends
// too; both decode back.
func TestJSONNumbersAsDocumented(t *testing.T) {
	const at = 1620963428
	popup := pushtest.Popup(gh, openID, at, [2]string{"T1", "accept"})
	sent := pushtest.Sent(gh, openID, at, "T1", "1864323726461255680", 0)
	text := pushtest.Text(gh, openID, at, "23456789012345678", "hi")
	tests := []struct {
		name    string
		body    []byte
		want    []string
		numeric bool
	}{
		{"popup", pushtest.Encode(codec.JSON, popup), []string{`"CreateTime":"1620963428"`, `"PopupScene":"0"`}, false},
		{"sent", pushtest.Encode(codec.JSON, sent), []string{`"CreateTime":"1620963428"`, `"ErrorCode":"0"`}, false},
		{"text", pushtest.Encode(codec.JSON, text), []string{`"CreateTime":1620963428`, `"MsgId":23456789012345678`}, true},
		{"numeric popup", pushtest.EncodeNumeric(codec.JSON, popup), []string{`"CreateTime":1620963428`, `"PopupScene":0`}, true},
		{"numeric sent", pushtest.EncodeNumeric(codec.JSON, sent), []string{`"CreateTime":1620963428`, `"ErrorCode":0`}, true},
	}
	for _, tt := range tests {
		for _, w := range tt.want {
			if !strings.Contains(string(tt.body), w) {
				t.Errorf("%s: %s has no %s", tt.name, tt.body, w)
			}
		}
		var m codec.Message
		if err := codec.Decode(tt.body, &m); err != nil || m.CreateTime != at {
			t.Errorf("%s: decodes to CreateTime %d, %v", tt.name, m.CreateTime, err)
		}
		if tt.numeric {
			continue
		}
		// A consumer with string fields, as in the documented samples.
		var doc struct {
			CreateTime string
			List       []struct{ PopupScene, ErrorCode string }
		}
		if err := json.Unmarshal(tt.body, &doc); err != nil || doc.CreateTime != "1620963428" {
			t.Errorf("%s: a string-typed consumer fails: %v (%+v)", tt.name, err, doc)
		}
	}

	// The Pusher builds either form.
	for _, numeric := range []bool{false, true} {
		p, err := pushtest.New(pushtest.Config{Token: token, Format: codec.JSON, NumericJSON: numeric})
		if err != nil {
			t.Fatal(err)
		}
		req, err := p.Request(popup)
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Contains(string(req.Body), `"PopupScene":0`); got != numeric {
			t.Errorf("NumericJSON %v: body %s", numeric, req.Body)
		}
	}
}
