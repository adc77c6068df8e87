package sendertest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func newTestServer(t *testing.T, opts ...Option) *Server {
	t.Helper()
	s := NewServer(opts...)
	t.Cleanup(s.Close)
	return s
}

// call makes a request and decodes the JSON answer.
func call(t *testing.T, method, u string, body string) map[string]any {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	return out
}

func code(m map[string]any) int {
	f, _ := m["errcode"].(float64)
	return int(f)
}

func token(t *testing.T, s *Server) string {
	t.Helper()
	out := call(t, "GET", s.URL+"/cgi-bin/token?grant_type=client_credential&appid="+s.AppID+"&secret="+s.Secret, "")
	tok, _ := out["access_token"].(string)
	if tok == "" {
		t.Fatalf("no token: %v", out)
	}
	return tok
}

func TestTokenEndpoint(t *testing.T) {
	s := newTestServer(t, WithApp("wxA", "sA"), WithTokenTTL(time.Hour))
	for _, tc := range []struct {
		query string
		code  int
	}{
		{"grant_type=password&appid=wxA&secret=sA", 40002},
		{"grant_type=client_credential&appid=wxB&secret=sA", 40013},
		{"grant_type=client_credential&appid=wxA&secret=bad", 40125},
	} {
		if out := call(t, "GET", s.URL+"/cgi-bin/token?"+tc.query, ""); code(out) != tc.code || out["errmsg"] != ErrMsg(tc.code) {
			t.Errorf("%s: %v, want errcode %d", tc.query, out, tc.code)
		}
	}
	out := call(t, "GET", s.URL+"/cgi-bin/token?grant_type=client_credential&appid=wxA&secret=sA", "")
	if out["expires_in"] != float64(3600) || !strings.HasPrefix(out["access_token"].(string), "sendertest-1-") {
		t.Fatalf("token answer = %v", out)
	}
	if s.TokenFetches() != 1 {
		t.Fatalf("fetches = %d, want 1", s.TokenFetches())
	}
}

func TestStableTokenEndpoint(t *testing.T) {
	s := newTestServer(t)
	stable := func(force bool) map[string]any {
		b, _ := json.Marshal(map[string]any{"grant_type": "client_credential", "appid": s.AppID, "secret": s.Secret, "force_refresh": force})
		return call(t, "POST", s.URL+"/cgi-bin/stable_token", string(b))
	}
	a, b := stable(false), stable(false)
	if a["access_token"] != b["access_token"] || a["access_token"] == nil {
		t.Fatalf("stable tokens differ: %v, %v", a, b)
	}
	c := stable(true)
	if c["access_token"] == a["access_token"] || s.ForceRefreshes() != 1 || s.TokenFetches() != 3 {
		t.Fatalf("force refresh: %v; %d force, %d fetches", c, s.ForceRefreshes(), s.TokenFetches())
	}
	old := a["access_token"].(string)
	if out := call(t, "GET", s.URL+"/wxaapi/newtmpl/getcategory?access_token="+old, ""); code(out) != 40001 {
		t.Fatalf("old stable token after force refresh: %v, want 40001", out)
	}
	if out := call(t, "POST", s.URL+"/cgi-bin/stable_token", `{"grant_type":"client_credential","appid":"x","secret":"y"}`); code(out) != 40013 {
		t.Fatalf("bad appid: %v", out)
	}
	if out := call(t, "POST", s.URL+"/cgi-bin/stable_token", `{`); code(out) != 47001 {
		t.Fatalf("bad JSON: %v", out)
	}
	// After InvalidateToken the stable endpoint hands out a new token.
	s.InvalidateToken()
	if d := stable(false); d["access_token"] == c["access_token"] {
		t.Fatal("stable_token returned an invalidated token")
	}
}

func TestTokenChecks(t *testing.T) {
	s := newTestServer(t)
	api := s.URL + "/wxaapi/newtmpl/getcategory"
	if out := call(t, "GET", api, ""); code(out) != 41001 {
		t.Fatalf("no token: %v", out)
	}
	if out := call(t, "GET", api+"?access_token=forged", ""); code(out) != 40001 {
		t.Fatalf("forged token: %v", out)
	}
	tok := token(t, s)
	if out := call(t, "GET", api+"?access_token="+tok, ""); code(out) != 0 {
		t.Fatalf("good token: %v", out)
	}
	s.ExpireTokens()
	if out := call(t, "GET", api+"?access_token="+tok, ""); code(out) != 42001 {
		t.Fatalf("expired token: %v", out)
	}
	tok = token(t, s)
	s.InvalidateToken()
	if out := call(t, "GET", api+"?access_token="+tok, ""); code(out) != 40001 {
		t.Fatalf("invalidated token: %v", out)
	}

	short := newTestServer(t, WithTokenTTL(50*time.Millisecond))
	tok = token(t, short)
	time.Sleep(60 * time.Millisecond)
	if out := call(t, "GET", short.URL+"/wxaapi/newtmpl/getcategory?access_token="+tok, ""); code(out) != 42001 {
		t.Fatalf("token past its TTL: %v", out)
	}
	if out := call(t, "GET", s.URL+"/no/such/api", ""); code(out) != 40066 {
		t.Fatalf("unknown path: %v", out)
	}
}

func sendBody(user, template string) string {
	return `{"touser":"` + user + `","template_id":"` + template + `","page":"p","miniprogram_state":"trial","lang":"en_US",` +
		`"data":{"thing1":{"value":"v1"},"number2":{"value":"2"}}}`
}

func TestSubscribeSendRecords(t *testing.T) {
	start := time.Now()
	s := newTestServer(t)
	u := s.URL + "/cgi-bin/message/subscribe/send?access_token=" + token(t, s)
	out := call(t, "POST", u, sendBody("u1", "T1"))
	if code(out) != 0 || out["errmsg"] != "ok" {
		t.Fatalf("answer = %v", out)
	}
	sends := s.Sends()
	want := Send{ToUser: "u1", TemplateID: "T1", Page: "p", MiniProgramState: "trial", Lang: "en_US",
		Data: map[string]string{"thing1": "v1", "number2": "2"}, MsgID: "1864323726461255680"}
	if len(sends) != 1 || sends[0].MsgID != want.MsgID || sends[0].Data["thing1"] != "v1" || sends[0].Data["number2"] != "2" ||
		sends[0].ToUser != want.ToUser || sends[0].TemplateID != want.TemplateID || sends[0].Page != want.Page ||
		sends[0].MiniProgramState != want.MiniProgramState || sends[0].Lang != want.Lang || len(sends[0].Data) != 2 {
		t.Fatalf("sends = %+v, want [%+v]", sends, want)
	}
	for _, tc := range []struct {
		body string
		code int
	}{
		{sendBody("", "T1"), 40003},
		{sendBody("u1", ""), 40037},
		{`{"touser":`, 47001},
	} {
		if out := call(t, "POST", u, tc.body); code(out) != tc.code {
			t.Errorf("%s: %v, want %d", tc.body, out, tc.code)
		}
	}
	if s.SendCount() != 1 || s.SendRequests() != 4 {
		t.Fatalf("count %d, requests %d; want 1, 4", s.SendCount(), s.SendRequests())
	}
	if out := call(t, "POST", s.URL+"/cgi-bin/message/subscribe/send?access_token=bad", sendBody("u1", "T1")); code(out) != 40001 || s.SendRequests() != 5 {
		t.Fatalf("bad token: %v, requests %d", out, s.SendRequests())
	}
	// Every request has its arrival time, in order; the accepted send
	// was accepted at or after its own request's arrival.
	times := s.SendRequestTimes()
	if len(times) != 5 {
		t.Fatalf("%d request times, want 5", len(times))
	}
	for i, at := range times {
		if at.Before(start) || at.After(time.Now()) || i > 0 && at.Before(times[i-1]) {
			t.Fatalf("request times %v: want them in order, within the test", times)
		}
	}
	if at := sends[0].At; at.Before(times[0]) || at.After(times[1]) {
		t.Fatalf("send accepted at %v, want between its request's arrival %v and the next request %v", at, times[0], times[1])
	}
}

func TestSubscribeRules(t *testing.T) {
	s := newTestServer(t)
	u := s.URL + "/cgi-bin/message/subscribe/send?access_token=" + token(t, s)
	s.OnSend(Rule{ToUser: "refuser", Reply: Reply{ErrCode: 43101}}) // always
	s.OnSend(Rule{TemplateID: "T-bad", Times: 1, Reply: Reply{ErrCode: 47003, ErrMsg: "argument invalid! data.phrase3.value is invalid"}})
	s.OnSend(Rule{Times: 2, Reply: Reply{ErrCode: -1}}) // next two of anyone else
	for i, tc := range []struct {
		user, template string
		code           int
		msg            string
	}{
		{"refuser", "T1", 43101, "user refuse to accept the msg"},
		{"u", "T-bad", 47003, "argument invalid! data.phrase3.value is invalid"},
		{"u", "T-bad", -1, "system error"},
		{"refuser", "T1", 43101, "user refuse to accept the msg"},
		{"u", "T1", -1, "system error"},
		{"u", "T1", 0, "ok"},
		{"u", "T-bad", 0, "ok"},
	} {
		out := call(t, "POST", u, sendBody(tc.user, tc.template))
		if code(out) != tc.code || out["errmsg"] != tc.msg {
			t.Errorf("send %d (%s, %s) = %v, want %d %q", i, tc.user, tc.template, out, tc.code, tc.msg)
		}
	}
	s.ClearRules()
	if out := call(t, "POST", u, sendBody("refuser", "T1")); code(out) != 0 {
		t.Fatalf("after ClearRules: %v", out)
	}
	if s.SendCount() != 3 {
		t.Fatalf("accepted = %d, want 3", s.SendCount())
	}
}

func post(s *Server, tok, body string) (*http.Response, error) {
	return http.Post(s.URL+"/cgi-bin/message/subscribe/send?access_token="+tok, "application/json", strings.NewReader(body))
}

func TestSubscribeFaults(t *testing.T) {
	s := newTestServer(t)
	tok := token(t, s)

	s.OnSend(Rule{Times: 1, Reply: Reply{Status: 503}})
	resp, err := post(s, tok, sendBody("u", "T"))
	if err != nil || resp.StatusCode != 503 {
		t.Fatalf("5xx rule: %v, %v", resp, err)
	}
	resp.Body.Close()

	s.OnSend(Rule{Times: 1, Reply: Reply{Drop: DropBeforeBody}})
	if _, err := post(s, tok, sendBody("u", "T")); err == nil {
		t.Fatal("DropBeforeBody answered")
	}
	if s.SendCount() != 0 {
		t.Fatal("a dropped-before-body send was delivered")
	}

	s.OnSend(Rule{ToUser: "u", Times: 1, Reply: Reply{Drop: DropAfterBody}})
	if _, err := post(s, tok, sendBody("u", "T")); err == nil {
		t.Fatal("DropAfterBody answered")
	}
	if s.SendCount() != 1 {
		t.Fatalf("delivered = %d, want 1 (dropped after delivery)", s.SendCount())
	}

	s.OnSend(Rule{Times: 1, Reply: Reply{Delay: 100 * time.Millisecond}})
	start := time.Now()
	resp, err = post(s, tok, sendBody("u", "T"))
	if err != nil || time.Since(start) < 100*time.Millisecond {
		t.Fatalf("delay: %v after %v", err, time.Since(start))
	}
	resp.Body.Close()

	// Close releases a request waiting in a long delay.
	s.OnSend(Rule{Times: 1, Reply: Reply{Delay: time.Minute}})
	done := make(chan struct{})
	go func() {
		defer close(done)
		if resp, err := post(s, tok, sendBody("u", "T")); err == nil {
			resp.Body.Close()
		}
	}()
	for s.SendRequests() < 5 {
		time.Sleep(5 * time.Millisecond)
	}
	start = time.Now()
	s.Close()
	<-done
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("Close took %v", d)
	}
}

func TestOtherEndpointsRecord(t *testing.T) {
	s := newTestServer(t)
	tok := token(t, s)
	out := call(t, "POST", s.URL+"/cgi-bin/message/custom/typing?access_token="+tok, `{"touser":"u","command":"Typing"}`)
	if code(out) != 0 {
		t.Fatalf("typing: %v", out)
	}
	if out := call(t, "POST", s.URL+"/cgi-bin/message/custom/typing?access_token="+tok, `{"touser":"u","command":"Dance"}`); code(out) != 40097 {
		t.Fatalf("bad typing command: %v", out)
	}
	reqs := s.Requests()
	if len(reqs) != 2 || reqs[0].Method != "POST" || reqs[0].Path != "/cgi-bin/message/custom/typing" ||
		reqs[0].Query.Has("access_token") || string(reqs[0].Body) != `{"touser":"u","command":"Typing"}` ||
		reqs[0].ContentType != "application/json" {
		t.Fatalf("requests = %+v", reqs)
	}

	id := s.AddMedia([]byte("GIF89a...."), "image/gif")
	resp, err := http.Get(s.URL + "/cgi-bin/media/get?access_token=" + tok + "&media_id=" + url.QueryEscape(id))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !bytes.Equal(body, []byte("GIF89a....")) || resp.Header.Get("Content-Type") != "image/gif" {
		t.Fatalf("media get: %q %q", body, resp.Header.Get("Content-Type"))
	}
	if out := call(t, "POST", s.URL+"/cgi-bin/media/upload?type=voice&access_token="+tok, ""); code(out) != 40004 {
		t.Fatalf("upload of a non-image: %v", out)
	}
	for _, tc := range []struct {
		path, body string
		code       int
	}{
		{"/cgi-bin/message/custom/send", `{"touser":"u","msgtype":"text","text":{"content":"hi"}}`, 0},
		{"/cgi-bin/message/custom/send", `{"touser":"u","msgtype":"video"}`, 47001},
		{"/cgi-bin/message/custom/send", `{"msgtype":"text","text":{"content":"hi"}}`, 40003},
		{"/cgi-bin/message/wxopen/template/uniform_send", `{"touser":"u","mp_template_msg":{"appid":"a","template_id":"t","data":{}}}`, 0},
		{"/cgi-bin/message/wxopen/template/uniform_send", `{"touser":"u"}`, 47001},
		{"/cgi-bin/message/device/subscribe/send", `{"to_openid_list":["u"],"sn":"s","modelId":"m","template_id":"t","data":{}}`, 0},
		{"/cgi-bin/message/device/subscribe/send", `{"to_openid_list":[],"template_id":"t"}`, 40003},
		{"/wxaapi/newtmpl/addtemplate", `{"tid":"12345","kidList":[1]}`, 40097},
		{"/wxaapi/newtmpl/deltemplate", `{"priTmplId":"nope"}`, 40037},
	} {
		if out := call(t, "POST", s.URL+tc.path+"?access_token="+tok, tc.body); code(out) != tc.code {
			t.Errorf("%s %s: %v, want %d", tc.path, tc.body, out, tc.code)
		}
	}
}
