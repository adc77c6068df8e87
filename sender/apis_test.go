package sender_test

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"reflect"
	"sync/atomic"
	"testing"

	"github.com/goccy/go-json"

	"github.com/wxsub/wxsub/sender"
	"github.com/wxsub/wxsub/sender/sendertest"
)

// lastRequest returns the last recorded request with its body decoded.
func lastRequest(t *testing.T, srv *sendertest.Server) (sendertest.Request, map[string]any) {
	t.Helper()
	reqs := srv.Requests()
	if len(reqs) == 0 {
		t.Fatal("no request recorded")
	}
	r := reqs[len(reqs)-1]
	var body map[string]any
	if len(r.Body) > 0 && r.ContentType == "application/json" {
		if err := json.Unmarshal(r.Body, &body); err != nil {
			t.Fatalf("body %s: %v", r.Body, err)
		}
	}
	return r, body
}

func wantBody(t *testing.T, got map[string]any, wantJSON string) {
	t.Helper()
	var want map[string]any
	if err := json.Unmarshal([]byte(wantJSON), &want); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("body = %v, want %v", got, want)
	}
}

func TestTemplateAPIs(t *testing.T) {
	srv := newServer(t, sendertest.WithTemplate(sendertest.Template{
		ID: "T-existing", Title: "付款成功通知", Content: "物品名称:{{thing1.DATA}}", Example: "物品名称:地铁票", Type: 2,
		KeywordEnums: []sendertest.KeywordEnum{{Keyword: "enum2", Values: []string{"a", "b"}}},
	}))
	c := newClient(t, srv)
	ctx := t.Context()

	cats, err := c.Categories(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := []sender.Category{{ID: 616, Name: "公交"}, {ID: 627, Name: "名片"}}; !reflect.DeepEqual(cats, want) {
		t.Fatalf("categories = %v, want %v", cats, want)
	}

	titles, err := c.PublicTemplateTitles(ctx, []int{616, 627}, 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	wantTitles := sender.PublicTemplates{Count: 3, Templates: []sender.PublicTemplate{
		{TID: "100", Title: "乘车提醒", Type: 2, CategoryID: "616"},
		{TID: "101", Title: "名片交换通知", Type: 2, CategoryID: "627"},
	}}
	if !reflect.DeepEqual(titles, wantTitles) {
		t.Fatalf("titles = %+v, want %+v", titles, wantTitles)
	}
	if r, _ := lastRequest(t, srv); r.Query.Get("ids") != "616,627" || r.Query.Get("start") != "1" || r.Query.Get("limit") != "2" {
		t.Fatalf("query = %v", r.Query)
	}
	for _, limit := range []int{0, 31} {
		if _, err := c.PublicTemplateTitles(ctx, []int{616}, 0, limit); !errors.Is(err, sender.ErrInvalidMessage) {
			t.Fatalf("limit %d: error = %v, want ErrInvalidMessage", limit, err)
		}
	}

	kws, err := c.PublicTemplateKeywords(ctx, "99")
	if err != nil {
		t.Fatal(err)
	}
	if len(kws) != 3 || kws[1] != (sender.PublicKeyword{KID: 2, Name: "支付金额", Example: "¥5.00", Rule: "amount"}) {
		t.Fatalf("keywords = %+v", kws)
	}

	id, err := c.AddTemplate(ctx, "99", []int{1, 2}, "paid orders")
	if err != nil {
		t.Fatal(err)
	}
	if id != "sendertest-tmpl-1" {
		t.Fatalf("new template id = %q", id)
	}
	_, body := lastRequest(t, srv)
	wantBody(t, body, `{"tid":"99","kidList":[1,2],"sceneDesc":"paid orders"}`)

	list, err := c.ListTemplates(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].ID != "T-existing" || list[0].KeywordEnums[0].Values[1] != "b" ||
		!reflect.DeepEqual(list[1], sender.Template{ID: id, Title: "付款成功通知", Content: "物品名称:{{thing1.DATA}}\n支付金额:{{amount2.DATA}}", Type: sender.TemplateOneTime}) {
		t.Fatalf("templates = %+v", list)
	}

	if err := c.DeleteTemplate(ctx, id); err != nil {
		t.Fatal(err)
	}
	_, body = lastRequest(t, srv)
	wantBody(t, body, `{"priTmplId":"sendertest-tmpl-1"}`)
	var ae *sender.APIError
	if err := c.DeleteTemplate(ctx, id); !errors.As(err, &ae) || ae.Code != 40037 || ae.API != "/wxaapi/newtmpl/deltemplate" {
		t.Fatalf("second delete: %v, want errcode 40037", err)
	}
	// With templates declared, sends check the template id.
	if _, err := c.SendSubscribe(ctx, message("u", id)); !errors.As(err, &ae) || ae.Code != 40037 {
		t.Fatalf("send to a deleted template: %v, want 40037", err)
	}
}

func TestCustomerServiceAPIs(t *testing.T) {
	srv := newServer(t)
	c := newClient(t, srv)
	ctx := t.Context()

	png := append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{7}, 100)...)
	media, err := c.UploadTempMedia(ctx, `cover "1".png`, bytes.NewReader(png))
	if err != nil {
		t.Fatal(err)
	}
	if media.ID != "sendertest-media-1" || media.Type != "image" || media.CreatedAt.IsZero() {
		t.Fatalf("media = %+v", media)
	}
	data, ct, name, ok := srv.Media(media.ID)
	if !ok || !bytes.Equal(data, png) || ct != "image/png" || name != `cover "1".png` {
		t.Fatalf("stored media: %v %q %q %d bytes", ok, ct, name, len(data))
	}
	if r, _ := lastRequest(t, srv); r.Query.Get("type") != "image" {
		t.Fatalf("upload query = %v", r.Query)
	}

	got, gotType, err := c.GetTempMedia(ctx, media.ID)
	if err != nil || !bytes.Equal(got, png) || gotType != "image/png" {
		t.Fatalf("GetTempMedia = %d bytes, %q, %v", len(got), gotType, err)
	}
	var ae *sender.APIError
	if _, _, err := c.GetTempMedia(ctx, "missing"); !errors.As(err, &ae) || ae.Code != 40007 {
		t.Fatalf("GetTempMedia(missing) error = %v, want errcode 40007", err)
	}

	for _, tc := range []struct {
		name string
		send func() error
		want string
	}{
		{"text", func() error { return c.SendText(ctx, "u1", "你好 <a href=\"x\">link</a>") },
			`{"touser":"u1","msgtype":"text","text":{"content":"你好 <a href=\"x\">link</a>"}}`},
		{"image", func() error { return c.SendImage(ctx, "u1", media.ID) },
			`{"touser":"u1","msgtype":"image","image":{"media_id":"sendertest-media-1"}}`},
		{"link", func() error {
			return c.SendLink(ctx, "u1", sender.Link{Title: "T", Description: "D", URL: "https://x", ThumbURL: "https://x/t.png"})
		}, `{"touser":"u1","msgtype":"link","link":{"title":"T","description":"D","url":"https://x","thumb_url":"https://x/t.png"}}`},
		{"page", func() error {
			return c.SendMiniProgramPage(ctx, "u1", sender.MiniProgramPage{Title: "T", PagePath: "pages/a?b=1", ThumbMediaID: media.ID})
		}, `{"touser":"u1","msgtype":"miniprogrampage","miniprogrampage":{"title":"T","pagepath":"pages/a?b=1","thumb_media_id":"sendertest-media-1"}}`},
		{"typing", func() error { return c.SetTyping(ctx, "u1", true) }, `{"touser":"u1","command":"Typing"}`},
		{"cancel typing", func() error { return c.SetTyping(ctx, "u1", false) }, `{"touser":"u1","command":"CancelTyping"}`},
		{"uniform", func() error {
			return c.UniformSend(ctx, sender.UniformMessage{ToUser: "u1", MP: sender.OfficialAccountMessage{
				AppID: "wxmp", TemplateID: "MPT", URL: "https://x",
				MiniProgram: &sender.MiniProgramLink{AppID: "wxmini", PagePath: "index?foo=bar"},
				Data:        map[string]sender.TemplateValue{"first": {Value: "恭喜", Color: "#173177"}},
			}})
		}, `{"touser":"u1","mp_template_msg":{"appid":"wxmp","template_id":"MPT","url":"https://x",` +
			`"miniprogram":{"appid":"wxmini","pagepath":"index?foo=bar"},"data":{"first":{"value":"恭喜","color":"#173177"}}}}`},
		{"device", func() error {
			return c.SendDeviceSubscribe(ctx, sender.DeviceMessage{
				ToOpenIDs: []string{"u1", "u2"}, SN: "SN1", ModelID: "M1", TemplateID: "DT", Page: "pages/d",
				Data: map[string]string{"thing1": "门锁电量低"}, Lang: sender.LangZhCN,
			})
		}, `{"to_openid_list":["u1","u2"],"sn":"SN1","modelId":"M1","template_id":"DT","page":"pages/d","lang":"zh_CN",` +
			`"data":{"thing1":{"value":"门锁电量低"}}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.send(); err != nil {
				t.Fatal(err)
			}
			_, body := lastRequest(t, srv)
			wantBody(t, body, tc.want)
		})
	}

	if err := c.SendImage(ctx, "u1", "missing"); !errors.As(err, &ae) || ae.Code != 40007 {
		t.Fatalf("SendImage(missing) = %v, want errcode 40007", err)
	}
	n := len(srv.Requests())
	for _, err := range []error{
		c.SendText(ctx, "", "x"),
		c.SendText(ctx, "u", ""),
		c.SendImage(ctx, "u", ""),
		c.SendLink(ctx, "u", sender.Link{}),
		c.SendMiniProgramPage(ctx, "u", sender.MiniProgramPage{}),
		c.SetTyping(ctx, "", true),
		c.UniformSend(ctx, sender.UniformMessage{ToUser: "u"}),
		c.SendDeviceSubscribe(ctx, sender.DeviceMessage{}),
		c.SendDeviceSubscribe(ctx, sender.DeviceMessage{ToOpenIDs: []string{"u"}, SN: "s", ModelID: "m", TemplateID: "t",
			Data: map[string]string{"phrase1": "too long phrase"}}),
	} {
		if !errors.Is(err, sender.ErrInvalidMessage) && !errors.Is(err, sender.ErrInvalidData) {
			t.Fatalf("error = %v, want a local validation error", err)
		}
	}
	if len(srv.Requests()) != n {
		t.Fatal("an invalid call reached WeChat")
	}
}

// flaky answers 502 to the first n calls, then hands them to next.
func flaky(t *testing.T, n int64, next *sendertest.Server) (*httptest.Server, *atomic.Int64) {
	u, _ := url.Parse(next.URL)
	proxy := httputil.NewSingleHostReverseProxy(u)
	var calls atomic.Int64
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/cgi-bin/token" && calls.Add(1) <= n {
			http.Error(w, "bad gateway", http.StatusBadGateway)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(hs.Close)
	return hs, &calls
}

func TestIdempotentCallsRetry5xx(t *testing.T) {
	srv := newServer(t)
	hs, calls := flaky(t, 2, srv)
	c := newClient(t, srv, sender.WithBaseURL(hs.URL))
	if _, err := c.Categories(t.Context()); err != nil {
		t.Fatalf("Categories after two 502s: %v", err)
	}
	if calls.Load() != 3 {
		t.Fatalf("calls = %d, want 3", calls.Load())
	}

	hs, calls = flaky(t, 100, srv)
	c = newClient(t, srv, sender.WithBaseURL(hs.URL))
	_, err := c.Categories(t.Context())
	var he *sender.HTTPError
	if !errors.As(err, &he) || he.StatusCode != 502 || errors.Is(err, sender.ErrDeliveryUnknown) {
		t.Fatalf("error = %v, want HTTPError 502", err)
	}
	if calls.Load() != 3 {
		t.Fatalf("calls = %d, want 3 (MaxAttempts)", calls.Load())
	}

	// A send is not repeated after a 5xx: WeChat may have delivered it.
	hs, calls = flaky(t, 100, srv)
	c = newClient(t, srv, sender.WithBaseURL(hs.URL))
	if _, err := c.SendSubscribe(t.Context(), message("u", "T")); !errors.Is(err, sender.ErrDeliveryUnknown) || !errors.As(err, &he) {
		t.Fatalf("error = %v, want ErrDeliveryUnknown wrapping an HTTPError", err)
	}
	if calls.Load() != 1 {
		t.Fatalf("send calls = %d, want 1", calls.Load())
	}
}

func TestGarbledAnswer(t *testing.T) {
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/cgi-bin/token" {
			w.Write([]byte(`{"access_token":"t","expires_in":7200}`))
			return
		}
		w.Write([]byte(`<html>gateway</html>`))
	}))
	t.Cleanup(hs.Close)
	c, err := sender.New("wx1", "s", sender.WithBaseURL(hs.URL))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.SendSubscribe(t.Context(), message("u", "T")); !errors.Is(err, sender.ErrDeliveryUnknown) {
		t.Fatalf("send error = %v, want ErrDeliveryUnknown", err)
	}
	if _, err := c.Categories(t.Context()); err == nil || errors.Is(err, sender.ErrDeliveryUnknown) {
		t.Fatalf("categories error = %v, want a decoding error", err)
	}
}

// The token request carries the secret in its query; errors must not.
func TestErrorsHideSecrets(t *testing.T) {
	c, err := sender.New("wx1", "TOP-SECRET", sender.WithBaseURL(refusedURL(t)), sender.WithRetry(fastRetry))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.SendSubscribe(t.Context(), message("u", "T"))
	if err == nil || bytes.Contains([]byte(err.Error()), []byte("TOP-SECRET")) {
		t.Fatalf("error = %v, want one without the secret", err)
	}
}
