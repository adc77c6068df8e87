// Command demo runs the whole wxsub story in one process, with no WeChat
// account and no Redis: it starts a fake WeChat API (sender/sendertest) and
// the example app on loopback, then plays WeChat and a backend against it.
//
//	go run ./example/demo
//
// It exits 0 when every step behaved as described, and 1 otherwise.
package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/goccy/go-json"

	"github.com/wxsub/wxsub/codec"
	"github.com/wxsub/wxsub/example/internal/app"
	"github.com/wxsub/wxsub/middleware/pushtest"
	"github.com/wxsub/wxsub/sender/sendertest"
)

// The demo mini-program. The AES key is WeChat's documentation sample.
const (
	token    = "demo-token"
	aesKey   = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	ghID     = "gh_demo00000000"
	openID   = "o_demo_user_0001"
	template = "TMPL_ORDER_SHIPPED"
)

func main() {
	if err := run(context.Background(), os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "\ndemo FAILED: %v\n", err)
		os.Exit(1)
	}
}

type demo struct {
	out    io.Writer
	base   string
	client *http.Client
	step   int
}

func (d *demo) say(format string, args ...any) {
	d.step++
	fmt.Fprintf(d.out, "\n%d. %s\n", d.step, fmt.Sprintf(format, args...))
}

func (d *demo) show(format string, args ...any) {
	fmt.Fprintf(d.out, "   %s\n", fmt.Sprintf(format, args...))
}

func run(ctx context.Context, out io.Writer) error {
	d := &demo{out: out, client: &http.Client{Timeout: 10 * time.Second}}

	wechat := sendertest.NewServer()
	defer wechat.Close()
	d.say("Started a fake WeChat API at %s (sender/sendertest).", wechat.URL)

	cfg, err := app.LoadConfig(func(k string) string {
		return map[string]string{
			"WECHAT_APPID": wechat.AppID, "WECHAT_SECRET": wechat.Secret, "WECHAT_TOKEN": token,
			"WECHAT_AES_KEY": aesKey, "WECHAT_API_BASE": wechat.URL,
		}[k]
	})
	if err != nil {
		return err
	}
	// The app logs its hooks; keep them quiet unless something goes wrong.
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	a, err := app.New(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer a.Close(ctx)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: a.Handler(), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	d.base = "http://" + ln.Addr().String()
	d.say("Started the example app at %s: callback route at /wechat/callback (%s mode, in-memory stores).", d.base, a.Endpoint.Mode())

	wx, err := pushtest.New(pushtest.Config{Token: token, EncodingAESKey: aesKey, AppID: wechat.AppID})
	if err != nil {
		return err
	}
	check, err := pushtest.Do(ctx, d.client, d.base+"/wechat/callback", wx.URLCheck("1234567890"))
	if err != nil {
		return err
	}
	d.say("WeChat checks the URL (GET with signature and echostr).")
	d.show("route answered %d %q", check.Status, check.Body)
	if check.Status != http.StatusOK || string(check.Body) != "1234567890" {
		return errors.New("the URL check failed")
	}

	d.say("The user taps Subscribe; WeChat pushes a signed, AES-encrypted subscribe_msg_popup_event (accept).")
	popup := pushtest.Popup(ghID, openID, time.Now().Unix(), [2]string{template, codec.StatusAccept})
	req, err := wx.Request(popup)
	if err != nil {
		return err
	}
	d.show("POST /wechat/callback?%.60s...", req.RawQuery)
	d.show("body %.100s...", req.Body)
	resp, err := pushtest.Do(ctx, d.client, d.base+"/wechat/callback", req)
	if err != nil {
		return err
	}
	d.show("route answered %d %q", resp.Status, resp.Body)
	if resp.Status != http.StatusOK {
		return errors.New("the popup push was refused")
	}

	if err := d.expectGrant(ctx, 1); err != nil {
		return err
	}

	d.say("WeChat retries the same push (as it does when an answer is slow).")
	resp, err = pushtest.Do(ctx, d.client, d.base+"/wechat/callback", req)
	if err != nil {
		return err
	}
	d.show("route answered %d %q: recognised as a duplicate, not counted again", resp.Status, resp.Body)
	if err := d.expectGrant(ctx, 1); err != nil {
		return err
	}

	send := map[string]any{
		"touser": openID, "template_id": template, "page": "pages/order/detail?id=42",
		"data":              map[string]string{"thing1": "Order shipped", "character_string2": "SF1234567890", "time3": "2026-11-24 15:01"},
		"miniprogram_state": "developer", "lang": "en_US",
	}
	d.say("The backend sends the message: POST /send.")
	status, body, err := d.postJSON(ctx, "/send", send)
	if err != nil {
		return err
	}
	d.show("app answered %d %s", status, body)
	var sent struct{ MsgID string }
	if status != http.StatusOK || json.Unmarshal(body, &sent) != nil || sent.MsgID == "" {
		return errors.New("the send failed")
	}
	sends := wechat.Sends()
	if len(sends) != 1 {
		return fmt.Errorf("the fake WeChat recorded %d sends, want 1", len(sends))
	}
	d.show("the fake WeChat received: touser=%s template_id=%s data=%v msgid=%s",
		sends[0].ToUser, sends[0].TemplateID, sends[0].Data, sends[0].MsgID)
	d.show("token fetches so far: %d", wechat.TokenFetches())
	if err := d.expectGrant(ctx, 0); err != nil {
		return err
	}

	d.say("The backend tries to send again: the one-time grant is used up.")
	status, body, err = d.postJSON(ctx, "/send", send)
	if err != nil {
		return err
	}
	d.show("app answered %d %s", status, body)
	if status != http.StatusConflict {
		return fmt.Errorf("second send: status %d, want 409", status)
	}
	if n := len(wechat.Sends()); n != 1 {
		return fmt.Errorf("the refused send reached WeChat (%d sends)", n)
	}
	d.show("the fake WeChat still has 1 send: no network call was made")

	d.say("Invalid template data is refused before any network call.")
	bad := map[string]any{"touser": openID, "template_id": template, "data": map[string]string{"thing1": "this value is far longer than twenty characters"}}
	status, body, err = d.postJSON(ctx, "/send", bad)
	if err != nil {
		return err
	}
	d.show("app answered %d %s", status, body)
	if status != http.StatusUnprocessableEntity {
		return fmt.Errorf("invalid data: status %d, want 422", status)
	}

	d.say("WeChat pushes the final result of the send: subscribe_msg_sent_event.")
	resp, err = wx.Post(ctx, d.client, d.base+"/wechat/callback", pushtest.Sent(ghID, openID, time.Now().Unix(), template, sent.MsgID, 0))
	if err != nil {
		return err
	}
	d.show("route answered %d %q", resp.Status, resp.Body)
	if resp.Status != http.StatusOK {
		return errors.New("the sent-result push was refused")
	}

	d.say("A forged push (wrong token) is rejected and changes nothing.")
	forger, err := pushtest.New(pushtest.Config{Token: "not-the-token", EncodingAESKey: aesKey, AppID: wechat.AppID})
	if err != nil {
		return err
	}
	resp, err = forger.Post(ctx, d.client, d.base+"/wechat/callback", pushtest.Popup(ghID, openID, time.Now().Unix(), [2]string{template, codec.StatusAccept}))
	if err != nil {
		return err
	}
	d.show("route answered %d %q", resp.Status, resp.Body)
	if resp.Status != http.StatusForbidden {
		return fmt.Errorf("forged push: status %d, want 403", resp.Status)
	}
	if err := d.expectGrant(ctx, 0); err != nil {
		return err
	}

	if err := d.scheduled(ctx, wx, wechat); err != nil {
		return err
	}

	fmt.Fprintln(out, "\nDone: every step behaved as expected.")
	return nil
}

func (d *demo) expectGrant(ctx context.Context, want int64) error {
	status, body, err := d.get(ctx, "/grants?openid="+openID+"&template_id="+template)
	if err != nil {
		return err
	}
	d.show("GET /grants -> %d %s", status, bytes.TrimSpace(body))
	var g struct{ Remaining int64 }
	if status != http.StatusOK || json.Unmarshal(body, &g) != nil || g.Remaining != want {
		return fmt.Errorf("grant: %d %s, want remaining %d", status, body, want)
	}
	return nil
}

func (d *demo) postJSON(ctx context.Context, path string, v any) (int, []byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return 0, nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.base+path, bytes.NewReader(b))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	return d.do(req)
}

func (d *demo) get(ctx context.Context, path string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, d.base+path, nil)
	if err != nil {
		return 0, nil, err
	}
	return d.do(req)
}

func (d *demo) do(req *http.Request) (int, []byte, error) {
	resp, err := d.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, bytes.TrimSpace(b), err
}
