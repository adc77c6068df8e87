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
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
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
		token      = fs.String("token", "", "the Token of the admin console's message push settings (required)")
		aesKey     = fs.String("aes-key", "", "the 43-character EncodingAESKey: encrypt the push (safe mode); needs -appid")
		appID      = fs.String("appid", "", "the mini-program's appid: needed with -aes-key; with -event page, the page's appid")
		compatible = fs.Bool("compatible", false, "with -aes-key, send plaintext fields next to Encrypt (compatible mode)")
		format     = fs.String("format", "xml", "body format: xml or json")
		event      = fs.String("event", "popup", "popup, change, sent, text, image, page, enter, or check (GET URL check)")
		gh         = fs.String("gh", "gh_0000000000", "ToUserName: the mini-program's original id")
		openID     = fs.String("openid", "o_wxpush_user", "FromUserName: the user's openid")
		template   = fs.String("template", "TEMPLATE_ID", "template id (popup, change, sent)")
		status     = fs.String("status", "accept", "subscription status: popup accept, reject, acceptWithAudio, ban or filter; change accept or reject")
		msgID      = fs.String("msgid", "", "message id (text, image, page, sent); default: derived from the time")
		errCode    = fs.Int64("errcode", 0, "sent event ErrorCode (0 = delivered)")
		content    = fs.String("content", "hello from wxpush", "text content, page title, or session-from")
		timeout    = fs.Duration("timeout", 10*time.Second, "request timeout")
	)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "wxpush: unexpected argument %q: every setting is a flag (see -h)\n", fs.Arg(0))
		return 2
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if err := checkFlags(set, *token, *aesKey, *appID, *compatible, *event, *status); err != nil {
		fmt.Fprintf(stderr, "wxpush: %v\n", err)
		return 2
	}
	if u, err := url.Parse(*target); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		fmt.Fprintf(stderr, "wxpush: -url must be the callback route's http:// or https:// URL, got %q\n", *target)
		return 2
	}
	if *timeout <= 0 {
		fmt.Fprintf(stderr, "wxpush: -timeout must be a positive duration such as 10s, got %v\n", *timeout)
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
	pcfg := pushtest.Config{Token: *token, Compatible: *compatible, Format: f}
	if *aesKey != "" {
		pcfg.EncodingAESKey, pcfg.AppID = *aesKey, *appID
	}
	p, err := pushtest.New(pcfg)
	if err != nil {
		// checkFlags let through only what pushtest takes: this is a bug.
		fmt.Fprintf(stderr, "wxpush: flags -token, -aes-key, -appid, -format: %v\n", err)
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

// eventFlags returns the flags that shape the push of an -event, and
// whether the event exists. A flag given for an event that ignores it is
// refused, not silently dropped.
func eventFlags(event string) ([]string, bool) {
	switch event {
	case "popup", "change":
		return []string{"gh", "openid", "template", "status"}, true
	case "sent":
		return []string{"gh", "openid", "template", "msgid", "errcode"}, true
	case "text":
		return []string{"gh", "openid", "msgid", "content"}, true
	case "image":
		return []string{"gh", "openid", "msgid"}, true
	case "page":
		return []string{"gh", "openid", "msgid", "content"}, true
	case "enter":
		return []string{"gh", "openid", "content"}, true
	case "check":
		return nil, true
	}
	return nil, false
}

// statuses returns the subscription statuses WeChat pushes for an -event,
// or nil when the event has none.
func statuses(event string) []string {
	switch event {
	case "popup":
		return []string{codec.StatusAccept, codec.StatusReject, codec.StatusAcceptWithAudio, codec.StatusBan, codec.StatusFilter}
	case "change":
		return []string{codec.StatusAccept, codec.StatusReject}
	}
	return nil
}

// checkFlags refuses a missing -token and combinations that make no sense,
// naming the flag and what to give it. set holds the flags given.
func checkFlags(set map[string]bool, token, aesKey, appID string, compatible bool, event, status string) error {
	uses, ok := eventFlags(event)
	if !ok {
		return fmt.Errorf("-event must be popup, change, sent, text, image, page, enter or check, got %q", event)
	}
	switch {
	case token == "":
		return errors.New("-token is required: the Token of the admin console's message push settings " +
			"(the route's WECHAT_TOKEN)")
	case aesKey != "" && len(aesKey) != 43:
		return fmt.Errorf("-aes-key must be the 43-character EncodingAESKey of the admin console's message push settings "+
			"(the route's WECHAT_AES_KEY), got %d characters", len(aesKey))
	case aesKey != "" && !base64Key(aesKey):
		return errors.New("-aes-key must be the EncodingAESKey of the admin console: 43 letters, digits, '+' or '/'")
	case aesKey != "" && appID == "":
		return errors.New("-aes-key needs -appid: the mini-program's appid, which every encrypted push carries " +
			"(the route's WECHAT_APPID)")
	case compatible && aesKey == "":
		return errors.New("-compatible needs -aes-key: a compatible-mode push is an encrypted one with the plaintext fields beside it")
	case appID != "" && aesKey == "" && event != "page":
		return errors.New("-appid needs -aes-key: it is the appid encrypted pushes carry (or, with -event page, the page's appid)")
	}
	for _, name := range []string{"gh", "openid", "template", "status", "msgid", "errcode", "content"} {
		if set[name] && !slices.Contains(uses, name) {
			return fmt.Errorf("-%s does nothing with -event %s; leave it out", name, event)
		}
	}
	if want := statuses(event); want != nil && !slices.Contains(want, status) {
		return fmt.Errorf("-status must be one of %s for -event %s, got %q", strings.Join(want, ", "), event, status)
	}
	return nil
}

// base64Key reports whether k is made of the characters of an EncodingAESKey.
func base64Key(k string) bool {
	for _, c := range k {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '+' || c == '/') {
			return false
		}
	}
	return true
}
