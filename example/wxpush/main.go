// Command wxpush sends WeChat-style pushes to a callback route, so hooks can
// be tried on a laptop that WeChat cannot reach. Pushes are signed with the
// token and, given an EncodingAESKey, encrypted as in safe mode.
//
//	go run ./example/wxpush -url http://127.0.0.1:8080/wechat/callback \
//	    -token AAAAA -event popup -openid o123 -template TMPL -status accept
//
// -event check sends WeChat's GET URL check instead of a push.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/wxsub/wxsub/codec"
	"github.com/wxsub/wxsub/middleware/pushtest"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("wxpush", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		target     = fs.String("url", "http://127.0.0.1:8080/wechat/callback", "callback route URL")
		token      = fs.String("token", "", "callback Token (required)")
		aesKey     = fs.String("aes-key", "", "EncodingAESKey: encrypt the push (safe mode); needs -appid")
		appID      = fs.String("appid", "", "mini-program appid (with -aes-key)")
		compatible = fs.Bool("compatible", false, "with -aes-key, send plaintext fields next to Encrypt (compatible mode)")
		format     = fs.String("format", "xml", "body format: xml or json")
		event      = fs.String("event", "popup", "popup, change, sent, text, image, page, enter, or check (GET URL check)")
		gh         = fs.String("gh", "gh_0000000000", "ToUserName: the mini-program's original id")
		openID     = fs.String("openid", "o_wxpush_user", "FromUserName: the user's openid")
		template   = fs.String("template", "TEMPLATE_ID", "template id (popup, change, sent)")
		status     = fs.String("status", "accept", "subscription status (popup, change): accept, reject, acceptWithAudio, ...")
		msgID      = fs.String("msgid", "", "message id (text, image, page, sent); default: derived from the time")
		errCode    = fs.Int64("errcode", 0, "sent event ErrorCode (0 = delivered)")
		content    = fs.String("content", "hello from wxpush", "text content, page title, or session-from")
		timeout    = fs.Duration("timeout", 10*time.Second, "request timeout")
	)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	f := codec.XML
	switch *format {
	case "xml":
	case "json":
		f = codec.JSON
	default:
		fmt.Fprintf(stderr, "wxpush: -format must be xml or json, got %q\n", *format)
		return 2
	}
	p, err := pushtest.New(pushtest.Config{Token: *token, EncodingAESKey: *aesKey, AppID: *appID, Compatible: *compatible, Format: f})
	if err != nil {
		fmt.Fprintf(stderr, "wxpush: %v (flags -token, -aes-key, -appid)\n", err)
		return 2
	}
	now := time.Now().Unix()
	id := *msgID
	if id == "" {
		id = strconv.FormatInt(time.Now().UnixNano(), 10)
	}
	var m *codec.Message
	switch *event {
	case "popup":
		m = pushtest.Popup(*gh, *openID, now, [2]string{*template, *status})
	case "change":
		m = pushtest.Change(*gh, *openID, now, [2]string{*template, *status})
	case "sent":
		m = pushtest.Sent(*gh, *openID, now, *template, id, *errCode)
	case "text":
		m = pushtest.Text(*gh, *openID, now, id, *content)
	case "image":
		m = pushtest.Image(*gh, *openID, now, id, "https://example.com/wxpush.jpg", "media_"+id)
	case "page":
		m = pushtest.MiniProgramPage(*gh, *openID, now, id, *content, *appID, "pages/index/index")
	case "enter":
		m = pushtest.EnterSession(*gh, *openID, now, *content)
	case "check":
	default:
		fmt.Fprintf(stderr, "wxpush: unknown -event %q\n", *event)
		return 2
	}

	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	client := &http.Client{Timeout: *timeout}
	var resp pushtest.Response
	if m == nil {
		resp, err = pushtest.Do(ctx, client, *target, p.URLCheck("wxpush-"+strconv.FormatInt(now, 10)))
	} else {
		req, rerr := p.Request(m)
		if rerr != nil {
			fmt.Fprintf(stderr, "wxpush: %v\n", rerr)
			return 1
		}
		fmt.Fprintf(stdout, "POST %s?%s\n%s\n\n", *target, req.RawQuery, req.Body)
		resp, err = pushtest.Do(ctx, client, *target, req)
	}
	if err != nil {
		fmt.Fprintf(stderr, "wxpush: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "HTTP %d\n%s\n", resp.Status, resp.Body)
	if p.Encrypted() && resp.Status == http.StatusOK && len(resp.Body) > 0 && string(resp.Body) != codec.Success {
		if plain, derr := p.DecryptReply(resp.Body); derr == nil {
			fmt.Fprintf(stdout, "decrypted reply:\n%s\n", plain)
		} else {
			fmt.Fprintf(stdout, "reply did not decrypt: %v\n", derr)
		}
	}
	if resp.Status != http.StatusOK {
		return 1
	}
	return 0
}
