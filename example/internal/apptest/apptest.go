// Package apptest is the contract that example/nethttp and example/fiber
// both honour, run against each through a real loopback listener.
package apptest

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-json"
	goredis "github.com/redis/go-redis/v9"

	"github.com/wxsub/wxsub/codec"
	"github.com/wxsub/wxsub/example/internal/app"
	"github.com/wxsub/wxsub/internal/redisaddr"
	"github.com/wxsub/wxsub/middleware/pushtest"
	"github.com/wxsub/wxsub/sender/sendertest"
)

const (
	token  = "contract-token"
	aesKey = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	gh     = "gh_contract0000"
)

// Serve starts the app under test on a loopback listener and returns its
// base URL; the server must stop when the test ends.
type Serve func(t *testing.T, a *app.App) (baseURL string)

// Run checks the example app's HTTP contract against serve, once with
// plaintext pushes and once with encrypted ones, with env adding to the
// configuration (e.g. REDIS_URL).
func Run(t *testing.T, serve Serve, env map[string]string) {
	for _, encrypted := range []bool{false, true} {
		name := "plaintext"
		if encrypted {
			name = "encrypted"
		}
		t.Run(name, func(t *testing.T) { run(t, serve, env, encrypted) })
	}
}

func run(t *testing.T, serve Serve, extra map[string]string, encrypted bool) {
	ctx := context.Background()
	// An appid of its own: the app keeps the access token and its
	// scheduled-send queues in Redis under the appid, and the Redis may be
	// shared with other runs of this test (example/nethttp and
	// example/fiber run it at the same time under go test ./...), whose
	// fake WeChat would reject this one's token.
	appID := "wx_contract_" + strconv.FormatUint(rand.Uint64(), 36)
	wechat := sendertest.NewServer(sendertest.WithApp(appID, sendertest.DefaultSecret))
	t.Cleanup(wechat.Close)
	env := map[string]string{
		"WECHAT_APPID": wechat.AppID, "WECHAT_SECRET": wechat.Secret, "WECHAT_TOKEN": token,
		"WECHAT_API_BASE": wechat.URL, "WECHAT_LONG_TERM_TEMPLATES": "LONG1",
	}
	pcfg := pushtest.Config{Token: token, Format: codec.JSON}
	if encrypted {
		env["WECHAT_AES_KEY"] = aesKey
		pcfg = pushtest.Config{Token: token, EncodingAESKey: aesKey, AppID: wechat.AppID, Format: codec.XML}
	}
	for k, v := range extra {
		env[k] = v
	}
	cfg, err := app.LoadConfig(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	// Unique per run, so a shared Redis holds no state from other runs.
	user := "o_contract_" + strings.ReplaceAll(t.Name(), "/", "_") + "_" + time.Now().Format("150405.000000000")
	if cfg.RedisURL != "" {
		// Cleanups run last first: this one runs after the app's Close.
		t.Cleanup(func() { forget(t, cfg.RedisURL, wechat.AppID, user) })
	}
	a, err := app.New(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close(context.Background()) })
	base := serve(t, a)
	c := &client{t: t, base: base, http: &http.Client{Timeout: 10 * time.Second}}
	wx, err := pushtest.New(pcfg)
	if err != nil {
		t.Fatal(err)
	}
	push := func(m *codec.Message) pushtest.Response {
		t.Helper()
		resp, err := wx.Post(ctx, c.http, base+"/wechat/callback", m)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}

	c.expect("GET", "/healthz", nil, 200, "ok")
	if check, err := pushtest.Do(ctx, c.http, base+"/wechat/callback", wx.URLCheck("778899")); err != nil || check.Status != 200 || string(check.Body) != "778899" {
		t.Fatalf("URL check: %+v %v", check, err)
	}
	c.expect("GET", "/grants?openid="+user+"&template_id=T1", nil, 200, `{"long_term":false,"remaining":0}`)

	now := time.Now().Unix()
	if r := push(pushtest.Popup(gh, user, now, [2]string{"T1", "accept"}, [2]string{"LONG1", "accept"}, [2]string{"T2", "reject"})); r.Status != 200 || string(r.Body) != "success" {
		t.Fatalf("popup push: %d %s", r.Status, r.Body)
	}
	c.expect("GET", "/grants?openid="+user+"&template_id=T1", nil, 200, `{"long_term":false,"remaining":1}`)
	c.expect("GET", "/grants?openid="+user+"&template_id=LONG1", nil, 200, `{"long_term":true,"remaining":0}`)
	c.expect("GET", "/grants?openid="+user+"&template_id=T2", nil, 200, `{"long_term":false,"remaining":0}`)

	send := func(tmpl string, data map[string]string) map[string]any {
		return map[string]any{"touser": user, "template_id": tmpl, "page": "pages/index", "data": data, "miniprogram_state": "trial", "lang": "zh_CN"}
	}
	body := c.expect("POST", "/send", send("T1", map[string]string{"thing1": "发货通知", "amount2": "¥12.50"}), 200, `{"msgid":"`)
	c.expect("GET", "/grants?openid="+user+"&template_id=T1", nil, 200, `{"long_term":false,"remaining":0}`)
	c.expect("POST", "/send", send("T1", map[string]string{"thing1": "again"}), 409, `{"error":`)
	if got := wechat.SendCount(); got != 1 {
		t.Fatalf("fake WeChat got %d sends, want 1", got)
	}
	var sent struct{ MsgID string }
	if err := json.Unmarshal(body, &sent); err != nil || sent.MsgID == "" {
		t.Fatalf("send answer %s: %v", body, err)
	}
	if r := push(pushtest.Sent(gh, user, now+1, "T1", sent.MsgID, 0)); r.Status != 200 {
		t.Fatalf("sent push: %d %s", r.Status, r.Body)
	}

	// Long-term: several sends, until the user rejects.
	c.expect("POST", "/send", send("LONG1", map[string]string{"phrase1": "已发货"}), 200, `{"msgid":"`)
	c.expect("POST", "/send", send("LONG1", map[string]string{"phrase1": "已签收"}), 200, `{"msgid":"`)
	c.expect("POST", "/send", send("LONG1", map[string]string{"phrase1": "太长了的短语"}), 422, `"field":"phrase1"`)
	if r := push(pushtest.Change(gh, user, now+2, [2]string{"LONG1", "reject"})); r.Status != 200 {
		t.Fatalf("change push: %d %s", r.Status, r.Body)
	}
	c.expect("GET", "/grants?openid="+user+"&template_id=LONG1", nil, 200, `{"long_term":false,"remaining":0}`)
	c.expect("POST", "/send", send("LONG1", map[string]string{"phrase1": "已发货"}), 409, `{"error":`)

	// WeChat refusing a send: 502 with its errcode, and the grant given back.
	if r := push(pushtest.Popup(gh, user, now+3, [2]string{"T3", "accept"})); r.Status != 200 {
		t.Fatalf("popup push: %d %s", r.Status, r.Body)
	}
	wechat.OnSend(sendertest.Rule{ToUser: user, TemplateID: "T3", Times: 1, Reply: sendertest.Reply{ErrCode: 40037}})
	c.expect("POST", "/send", send("T3", map[string]string{"thing1": "x"}), 502, `"errcode":40037`)
	c.expect("GET", "/grants?openid="+user+"&template_id=T3", nil, 200, `{"long_term":false,"remaining":1}`)

	// Bad requests.
	c.expect("POST", "/send", "not json", 400, `{"error":`)
	c.expect("POST", "/send", map[string]any{"template_id": "T1"}, 400, `{"error":`)
	c.expect("GET", "/grants?openid="+user, nil, 400, `{"error":`)
	// A forger who knows everything but the token (in safe mode even the
	// AES key) is still refused by the signature check.
	forgedCfg := pcfg
	forgedCfg.Token = "wrong"
	forged, err := pushtest.New(forgedCfg)
	if err != nil {
		t.Fatal(err)
	}
	if r, err := forged.Post(ctx, c.http, base+"/wechat/callback", pushtest.Popup(gh, user, now+4, [2]string{"T1", "accept"})); err != nil || r.Status != 403 {
		t.Fatalf("forged push: %+v %v", r, err)
	}
	c.expect("GET", "/grants?openid="+user+"&template_id=T1", nil, 200, `{"long_term":false,"remaining":0}`)

	schedule(t, c, push, send, wechat, user, now+5)
}

// schedule checks POST /schedule, GET and DELETE /schedule/{key}: the
// grant is reserved when scheduling, spent by the due send, and refunded
// by a cancel.
func schedule(t *testing.T, c *client, push func(*codec.Message) pushtest.Response, send func(string, map[string]string) map[string]any,
	wechat *sendertest.Server, user string, now int64) {
	t.Helper()
	if r := push(pushtest.Popup(gh, user, now, [2]string{"T4", "accept"}, [2]string{"T5", "accept"})); r.Status != 200 {
		t.Fatalf("popup push: %d %s", r.Status, r.Body)
	}
	sends := wechat.SendCount()
	// Unique per run: keys live as long as the engine keeps jobs.
	key := func(name string) string { return user + "-" + name }
	job := func(tmpl, name, at string) map[string]any {
		b := send(tmpl, map[string]string{"thing1": "明天 10:00 复诊"})
		b["key"] = key(name)
		if at != "" {
			b["at"] = at
		}
		return b
	}
	later := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	soon := time.Now().Add(300 * time.Millisecond).UTC().Format(time.RFC3339Nano)

	// A reminder due soon: created, reserved at once, delivered when due.
	c.expect("POST", "/schedule", job("T4", "remind", soon), 201, `"status":"scheduled"`)
	c.expect("GET", "/grants?openid="+user+"&template_id=T4", nil, 200, `{"long_term":false,"remaining":0}`)
	c.expect("POST", "/schedule", job("T4", "remind", soon), 200, `"key":"`+key("remind")+`"`)
	c.expect("POST", "/send", send("T4", map[string]string{"thing1": "x"}), 409, `{"error":`)
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(string(c.expect("GET", "/schedule/"+key("remind"), nil, 200, `"key"`)), `"status":"delivered"`) {
		if time.Now().After(deadline) {
			t.Fatalf("the reminder was not delivered: %s", c.expect("GET", "/schedule/"+key("remind"), nil, 200, ""))
		}
		time.Sleep(20 * time.Millisecond)
	}
	c.expect("GET", "/schedule/"+key("remind"), nil, 200, `"msgid":"`)
	c.expect("DELETE", "/schedule/"+key("remind"), nil, 409, `{"error":`)
	if got := wechat.SendCount(); got != sends+1 {
		t.Fatalf("fake WeChat got %d sends, want %d", got, sends+1)
	}

	// A cancelled one gives its grant back.
	c.expect("POST", "/schedule", job("T5", "cancel-me", later), 201, `"status":"scheduled"`)
	c.expect("GET", "/grants?openid="+user+"&template_id=T5", nil, 200, `{"long_term":false,"remaining":0}`)
	c.expect("DELETE", "/schedule/"+key("cancel-me"), nil, 200, `"status":"cancelled"`)
	c.expect("GET", "/grants?openid="+user+"&template_id=T5", nil, 200, `{"long_term":false,"remaining":1}`)
	c.expect("GET", "/schedule/"+key("cancel-me"), nil, 200, `"status":"cancelled"`)

	// Refusals.
	c.expect("POST", "/schedule", job("T6", "no-grant", ""), 409, `{"error":`)
	bad := job("T5", "bad-data", "")
	bad["data"] = map[string]string{"phrase1": "太长了的短语"}
	c.expect("POST", "/schedule", bad, 422, `"field":"phrase1"`)
	c.expect("POST", "/schedule", send("T5", map[string]string{"thing1": "x"}), 400, `key is required`)
	badAt := job("T5", "bad-at", "tomorrow")
	c.expect("POST", "/schedule", badAt, 400, `"field":"at"`)
	c.expect("GET", "/grants?openid="+user+"&template_id=T5", nil, 200, `{"long_term":false,"remaining":1}`)
	c.expect("GET", "/schedule/"+key("nope"), nil, 404, `{"error":`)
	c.expect("DELETE", "/schedule/"+key("nope"), nil, 404, `{"error":`)
}

// forget deletes what a run left in the shared Redis: every key naming
// its appid (the token, the scheduled-send queues and records, the fleet
// limit) or its user (grants and operation records), and its queues from
// asynq's list of queues.
func forget(t *testing.T, url, appID, user string) {
	opts, err := redisaddr.Options(url)
	if err != nil {
		t.Error(err)
		return
	}
	c := goredis.NewClient(opts)
	defer c.Close()
	ctx := context.Background()
	for _, id := range []string{appID, user} {
		iter := c.Scan(ctx, 0, "*"+id+"*", 500).Iterator()
		for iter.Next(ctx) {
			c.Unlink(ctx, iter.Val())
		}
	}
	for _, q := range []string{"tx", "campaign"} {
		c.SRem(ctx, "asynq:queues", "wxsub:"+appID+":"+q)
	}
}

type client struct {
	t    *testing.T
	base string
	http *http.Client
}

// expect sends a request (a string body as is, anything else as JSON) and
// checks the status and that the body contains want; it returns the body.
func (c *client) expect(method, path string, body any, status int, want string) []byte {
	c.t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			c.t.Fatal(err)
		}
		r = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, c.base+path, r)
	if err != nil {
		c.t.Fatal(err)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	got, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != status || !strings.Contains(string(got), want) {
		c.t.Fatalf("%s %s: %d %s, want %d containing %s", method, path, resp.StatusCode, got, status, want)
	}
	return got
}
