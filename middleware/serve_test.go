package middleware

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/wxsub/wxsub/codec"
	"github.com/wxsub/wxsub/handlers"
)

func TestURLCheckV1(t *testing.T) {
	e := newEndpoint(t, Config{Now: clock(1714036504)})
	q := "signature=" + v1Signature + "&echostr=" + v1Echostr + "&timestamp=" + v1Timestamp + "&nonce=" + v1Nonce
	got := e.Serve(context.Background(), Request{Method: "GET", RawQuery: q})
	checkResponse(t, "V1", got, 200, v1Echostr)
	if got.ContentType != ContentTypeText {
		t.Errorf("Content-Type = %q, want %q", got.ContentType, ContentTypeText)
	}
}

func TestPlaintextV2(t *testing.T) {
	var fields map[string]string
	mux := handlers.NewMux()
	mux.OnUnknown(func(_ context.Context, m *handlers.UnknownMessage) error {
		fields = m.Fields
		return nil
	})
	e := newEndpoint(t, Config{Mux: mux, Now: clock(1714037059)})
	q := "signature=" + v2Signature + "&timestamp=" + v2Timestamp + "&nonce=" + v2Nonce + "&openid=" + openID
	checkResponse(t, "V2", e.Serve(context.Background(), post(q, v2Body)), 200, "success")
	if fields["debug_str"] != "hello world" || fields["FromUserName"] != openID {
		t.Errorf("fallback hook got fields %v", fields)
	}
}

func TestSafeV3(t *testing.T) {
	var got *handlers.UnknownMessage
	mux := handlers.NewMux()
	mux.OnUnknown(func(_ context.Context, m *handlers.UnknownMessage) error {
		got = m
		return nil
	})
	e := newEndpoint(t, Config{Mux: mux, EncodingAESKey: aesKey, AppID: appID, Mode: ModeSafe, Now: clock(1714112445)})
	q := "signature=" + v3Signature + "&timestamp=" + v3Timestamp + "&nonce=" + v3Nonce +
		"&openid=" + openID + "&encrypt_type=aes&msg_signature=" + v3MsgSignature
	checkResponse(t, "V3", e.Serve(context.Background(), post(q, v3Body)), 200, "success")
	if got == nil {
		t.Fatal("hook did not run")
	}
	if got.Event != "debug_demo" || got.CreateTime != 1714112445 || got.Fields["debug_str"] != "hello world" {
		t.Errorf("hook got %+v", got)
	}
	if got.Message.Raw != `{"ToUserName":"gh_97417a04a28d","FromUserName":"o9AgO5Kd5ggOC-bXrbNODIiE3bGY","CreateTime":1714112445,"MsgType":"event","Event":"debug_demo","debug_str":"hello world"}` {
		t.Errorf("decrypted Raw = %q", got.Message.Raw)
	}

	// The same push one minute past the default window is stale.
	e = newEndpoint(t, Config{Mux: mux, EncodingAESKey: aesKey, AppID: appID, Mode: ModeSafe, Now: clock(1714112445 + 301)})
	checkResponse(t, "V3 stale", e.Serve(context.Background(), post(q, v3Body)), 403, ReasonStaleTimestamp)
}

func TestEncryptedReply(t *testing.T) {
	for _, format := range []string{"xml", "json"} {
		t.Run(format, func(t *testing.T) {
			mux := handlers.NewMux()
			mux.OnText(func(_ context.Context, m *handlers.TextMessage) error {
				m.TransferToCustomerService()
				return nil
			})
			e := newEndpoint(t, Config{Mux: mux, EncodingAESKey: aesKey, AppID: appID, Mode: ModeSafe})
			body := textXML("1001", "人工")
			if format == "json" {
				body = `{"ToUserName":"` + ghID + `","FromUserName":"` + openID + `","CreateTime":1714112400,"MsgType":"text","Content":"人工","MsgId":1001}`
			}
			resp := e.Serve(context.Background(), seal(t, body, now).request())
			if resp.Status != 200 {
				t.Fatalf("status %d %q", resp.Status, resp.Body)
			}
			env := parseEncryptedReply(t, format, resp.Body)
			if want := codec.Signature(token, env.timestamp, env.nonce, env.encrypt); env.msgSignature != want {
				t.Errorf("MsgSignature = %q, want %q", env.msgSignature, want)
			}
			if env.timestamp != "1714112445" {
				t.Errorf("TimeStamp = %q, want the clock's 1714112445", env.timestamp)
			}
			c, _ := codec.NewCipher(aesKey, appID)
			plain, err := c.Decrypt(env.encrypt)
			if err != nil {
				t.Fatal(err)
			}
			want := string(codec.EncodeReply(codec.XML, codec.Reply{ToUserName: openID, FromUserName: ghID,
				CreateTime: now, MsgType: "transfer_customer_service"}))
			wantType := ContentTypeXML
			if format == "json" {
				want = string(codec.EncodeReply(codec.JSON, codec.Reply{ToUserName: openID, FromUserName: ghID,
					CreateTime: now, MsgType: "transfer_customer_service"}))
				wantType = ContentTypeJSON
			}
			if string(plain) != want {
				t.Errorf("decrypted reply = %s, want %s", plain, want)
			}
			if resp.ContentType != wantType {
				t.Errorf("Content-Type = %q, want %q", resp.ContentType, wantType)
			}
		})
	}
}

func TestPlainReply(t *testing.T) {
	mux := handlers.NewMux()
	mux.OnText(func(_ context.Context, m *handlers.TextMessage) error {
		m.TransferToCustomerService()
		return nil
	})
	e := newEndpoint(t, Config{Mux: mux})
	resp := e.Serve(context.Background(), plainPush(textXML("77", "hi")))
	want := "<xml><ToUserName><![CDATA[" + openID + "]]></ToUserName><FromUserName><![CDATA[" + ghID +
		"]]></FromUserName><CreateTime>1714112445</CreateTime><MsgType><![CDATA[transfer_customer_service]]></MsgType></xml>"
	checkResponse(t, "plain reply", resp, 200, want)
	if resp.ContentType != ContentTypeXML {
		t.Errorf("Content-Type = %q", resp.ContentType)
	}
}

// TestRejections covers every row of the status table that a request alone
// can produce.
func TestRejections(t *testing.T) {
	plain := newEndpoint(t, Config{MaxBodyBytes: 2048})
	safe := newEndpoint(t, Config{EncodingAESKey: aesKey, AppID: appID, Mode: ModeSafe})
	compat := newEndpoint(t, Config{EncodingAESKey: aesKey, AppID: "wx0000000000000000"})

	good := seal(t, textXML("1", "x"), now)
	sig := codec.Signature(token, "1714112445", "n")
	tests := []struct {
		name   string
		e      *Endpoint
		req    Request
		status int
		body   string
	}{
		{"PUT", plain, Request{Method: "PUT"}, 405, ReasonMethod},
		{"HEAD", plain, Request{Method: "HEAD"}, 405, ReasonMethod},
		{"empty method", plain, Request{}, 405, ReasonMethod},
		{"GET no params", plain, Request{Method: "GET"}, 401, ReasonMissingParams},
		{"GET no nonce", plain, Request{Method: "GET", RawQuery: "signature=" + sig + "&timestamp=1714112445&echostr=1"}, 401, ReasonMissingParams},
		{"GET bad signature", plain, Request{Method: "GET", RawQuery: "signature=" + strings.Repeat("0", 40) + "&timestamp=1714112445&nonce=n&echostr=1"}, 403, ReasonBadSignature},
		{"GET stale", plain, Request{Method: "GET", RawQuery: signedQuery(now-301, "n") + "&echostr=1"}, 403, ReasonStaleTimestamp},
		{"GET future", plain, Request{Method: "GET", RawQuery: signedQuery(now+301, "n") + "&echostr=1"}, 403, ReasonStaleTimestamp},
		{"GET no echostr", plain, Request{Method: "GET", RawQuery: signedQuery(now, "n")}, 400, ReasonMissingEchostr},
		{"GET bad escape", plain, Request{Method: "GET", RawQuery: "signature=%zz&timestamp=1&nonce=n&echostr=1"}, 400, ReasonMalformedQuery},
		{"POST no params", plain, post("", textXML("1", "x")), 401, ReasonMissingParams},
		{"POST no signature", plain, post("timestamp=1714112445&nonce=n", textXML("1", "x")), 401, ReasonMissingParams},
		{"POST no timestamp", plain, post("signature="+sig+"&nonce=n", textXML("1", "x")), 401, ReasonMissingParams},
		{"POST bad signature", plain, post("signature="+strings.Repeat("a", 40)+"&timestamp=1714112445&nonce=n", textXML("1", "x")), 403, ReasonBadSignature},
		{"POST short signature", plain, post("signature=abc&timestamp=1714112445&nonce=n", textXML("1", "x")), 403, ReasonBadSignature},
		{"POST signature of other nonce", plain, post("signature="+sig+"&timestamp=1714112445&nonce=m", textXML("1", "x")), 403, ReasonBadSignature},
		{"POST stale", plain, post(signedQuery(now-3600, "n"), textXML("1", "x")), 403, ReasonStaleTimestamp},
		{"POST non-numeric timestamp", plain, post("signature="+codec.Signature(token, "soon", "n")+"&timestamp=soon&nonce=n", textXML("1", "x")), 403, ReasonStaleTimestamp},
		{"POST too large", plain, plainPush(strings.Repeat(" ", 2049)), 413, ReasonTooLarge},
		{"POST malformed XML", plain, plainPush("<xml><ToUserName>"), 400, ReasonMalformedBody},
		{"POST malformed JSON", plain, plainPush(`{"ToUserName":`), 400, ReasonMalformedBody},
		{"POST empty body", plain, plainPush(""), 400, ReasonMalformedBody},
		{"POST garbage", plain, plainPush("hello"), 400, ReasonMalformedBody},
		{"encrypted to plaintext endpoint", plain, good.request(), 400, ReasonNoKey},
		{"unknown encrypt_type", compat, post(signedQuery(now, "n")+"&encrypt_type=des", textXML("1", "x")), 400, ReasonEncryptType},
		{"plaintext to safe endpoint", safe, plainPush(textXML("1", "x")), 400, ReasonPlaintextRefuse},
		{"safe without msg_signature", safe, post(signedQuery(now, "n")+"&encrypt_type=aes", good.body), 401, ReasonMissingParams},
		{"safe with only a good signature", safe, post(signedQuery(now, "n")+"&encrypt_type=aes&msg_signature="+strings.Repeat("0", 40), good.body), 403, ReasonBadSignature},
		{"safe body swapped", safe, post(good.query, seal(t, textXML("2", "forged"), now).body), 403, ReasonBadSignature},
		{"safe no Encrypt", safe, post(good.query, "<xml><ToUserName><![CDATA[gh]]></ToUserName></xml>"), 400, ReasonMissingEncrypt},
		{"safe malformed envelope", safe, post(good.query, "<xml><Encrypt>"), 400, ReasonMalformedBody},
		{"safe stale", safe, seal(t, textXML("1", "x"), now-301).request(), 403, ReasonStaleTimestamp},
		{"safe bad base64", safe, signedEnvelope("!!!!"), 400, ReasonDecrypt},
		{"safe short ciphertext", safe, signedEnvelope("AAAA"), 400, ReasonDecrypt},
		{"wrong appid", compat, good.request(), 400, ReasonAppID},
		{"safe bad inner body", safe, seal(t, "not a push", now).request(), 400, ReasonMalformedBody},
		{"ToUserName mismatch", safe, mismatchedEnvelope(t), 400, ReasonToUserName},
	}
	for _, tt := range tests {
		got := tt.e.Serve(context.Background(), tt.req)
		checkResponse(t, tt.name, got, tt.status, tt.body)
		if got.ContentType != ContentTypeText {
			t.Errorf("%s: Content-Type = %q", tt.name, got.ContentType)
		}
	}
}

// signedEnvelope is a safe-mode push whose Encrypt is enc, correctly signed.
func signedEnvelope(enc string) Request {
	q := "timestamp=1714112445&nonce=n&encrypt_type=aes&msg_signature=" + codec.Signature(token, "1714112445", "n", enc)
	return post(q, "<xml><ToUserName><![CDATA["+ghID+"]]></ToUserName><Encrypt><![CDATA["+enc+"]]></Encrypt></xml>")
}

// mismatchedEnvelope is a correctly signed push whose envelope names
// another mini-program than the decrypted message.
func mismatchedEnvelope(t *testing.T) Request {
	s := seal(t, textXML("1", "x"), now)
	s.body = strings.Replace(s.body, ghID, "gh_other", 1)
	return s.request()
}

func TestReplayWindow(t *testing.T) {
	tests := []struct {
		name   string
		window time.Duration
		ts     int64
		status int
	}{
		{"default, now", 0, now, 200},
		{"default, edge", 0, now - 300, 200},
		{"default, edge future", 0, now + 300, 200},
		{"default, past", 0, now - 301, 403},
		{"1 minute, 2 minutes old", time.Minute, now - 120, 403},
		{"1 minute, 59 s old", time.Minute, now - 59, 200},
		{"off, a year old", NoReplayCheck, now - 365*86400, 200},
		{"off, year 1970", NoReplayCheck, 1, 200},
	}
	for _, tt := range tests {
		e := newEndpoint(t, Config{ReplayWindow: tt.window})
		got := e.Serve(context.Background(), post(signedQuery(tt.ts, "n"), textXML("1", "x")))
		if got.Status != tt.status {
			t.Errorf("%s: status %d %q, want %d", tt.name, got.Status, got.Body, tt.status)
		}
	}
	// With the check off, a timestamp that is no number is signed text
	// like any other.
	e := newEndpoint(t, Config{ReplayWindow: NoReplayCheck})
	q := "signature=" + codec.Signature(token, "x", "n") + "&timestamp=x&nonce=n"
	checkResponse(t, "off, non-numeric", e.Serve(context.Background(), post(q, textXML("1", "x"))), 200, "success")
}

func TestBodyLimit(t *testing.T) {
	body := textXML("1", "x")
	tests := []struct {
		limit  int64
		status int
	}{
		{int64(len(body)), 200},
		{int64(len(body)) - 1, 413},
		{0, 200}, // the 1 MiB default
	}
	for _, tt := range tests {
		e := newEndpoint(t, Config{MaxBodyBytes: tt.limit})
		if got := e.Serve(context.Background(), plainPush(body)); got.Status != tt.status {
			t.Errorf("limit %d: status %d %q, want %d", tt.limit, got.Status, got.Body, tt.status)
		}
	}
	e := newEndpoint(t, Config{})
	if got := e.MaxBodyBytes(); got != 1<<20 {
		t.Errorf("default MaxBodyBytes() = %d, want %d", got, 1<<20)
	}
	big := plainPush(strings.Repeat(" ", 1<<20+1))
	checkResponse(t, "1 MiB + 1", e.Serve(context.Background(), big), 413, ReasonTooLarge)
}

func TestCompatibleMode(t *testing.T) {
	var contents []string
	mux := handlers.NewMux()
	mux.OnText(func(_ context.Context, m *handlers.TextMessage) error {
		contents = append(contents, m.Content)
		return nil
	})
	e := newEndpoint(t, Config{Mux: mux, EncodingAESKey: aesKey, AppID: appID, Mode: ModeCompatible})
	// Plaintext: the signature alone.
	checkResponse(t, "plaintext", e.Serve(context.Background(), plainPush(textXML("1", "plain"))), 200, "success")
	// Encrypted: the compatible body carries plaintext fields and Encrypt;
	// the decrypted message is the one that counts.
	s := seal(t, textXML("2", "secret"), now)
	s.body = strings.Replace(textXML("2", "decoy"), "</xml>", "", 1) +
		"<Encrypt><![CDATA[" + strings.TrimSuffix(strings.SplitN(s.body, "<Encrypt><![CDATA[", 2)[1], "]]></Encrypt></xml>") + "]]></Encrypt></xml>"
	checkResponse(t, "encrypted", e.Serve(context.Background(), s.request()), 200, "success")
	// encrypt_type=aes with only the plaintext signature: refused.
	q := signedQuery(now, "n") + "&encrypt_type=aes"
	checkResponse(t, "aes without msg_signature", e.Serve(context.Background(), post(q, s.body)), 401, ReasonMissingParams)
	if strings.Join(contents, ",") != "plain,secret" {
		t.Errorf("hooks saw %q, want plain,secret", contents)
	}
}

func TestHookErrorAndPanic(t *testing.T) {
	log, lb := newLogger()
	mux := handlers.NewMux()
	mux.OnText(func(_ context.Context, m *handlers.TextMessage) error {
		switch m.Content {
		case "fail":
			return errors.New("database down")
		case "panic":
			var m map[string]int
			m["x"] = 1 // a nil map write: a runtime panic
		}
		return nil
	})
	e := newEndpoint(t, Config{Mux: mux, Logger: log})
	checkResponse(t, "error", e.Serve(context.Background(), plainPush(textXML("1", "fail"))), 500, ReasonHookFailed)
	checkResponse(t, "panic", e.Serve(context.Background(), plainPush(textXML("2", "panic"))), 500, ReasonHookFailed)
	checkResponse(t, "fine", e.Serve(context.Background(), plainPush(textXML("3", "ok"))), 200, "success")
	out := lb.String()
	for _, want := range []string{"database down", "hook panicked", "assignment to entry in nil map", "stack=", "serve_test.go", "key=m:15:" + ghID + ":2"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
}

func TestNoMux(t *testing.T) {
	e := newEndpoint(t, Config{})
	checkResponse(t, "no mux", e.Serve(context.Background(), plainPush(textXML("1", "x"))), 200, "success")
	checkResponse(t, "retry", e.Serve(context.Background(), plainPush(textXML("1", "x"))), 200, "success")
}

func TestEndpointClosed(t *testing.T) {
	e, err := New(Config{Token: token, Now: clock(now)})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	checkResponse(t, "after Close", e.Serve(context.Background(), plainPush(textXML("1", "x"))), 503, ReasonClosed)
	q := signedQuery(now, "n") + "&echostr=42"
	checkResponse(t, "URL check after Close", e.Serve(context.Background(), Request{Method: "GET", RawQuery: q}), 200, "42")
}

func mustOK(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
