package loadtest

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wxsub/wxsub/codec"
	"github.com/wxsub/wxsub/middleware"
	"github.com/wxsub/wxsub/middleware/pushtest"
)

// hostile is one request of the bad-input corpus and the answer the
// middleware package documents for it.
type hostile struct {
	name   string
	method string
	query  string
	body   []byte
	status int
	// reason is the expected body ("" when the framework answers itself).
	reason string
	// mayReset allows the server to answer and close the connection before
	// the client has written the whole body, which the client sees as a
	// reset instead of the status.
	mayReset bool
}

// signedQuery signs a POST as WeChat does, at time at; with encrypt set it
// is a safe-mode query carrying msg_signature over encrypt.
func signedQuery(tok string, at time.Time, encrypt *string) string {
	ts := strconv.FormatInt(at.Unix(), 10)
	nonce := "1514711492"
	q := url.Values{"timestamp": {ts}, "nonce": {nonce}, "signature": {codec.Signature(tok, ts, nonce)}}
	if encrypt != nil {
		q.Set("encrypt_type", "aes")
		q.Set("msg_signature", codec.Signature(tok, ts, nonce, *encrypt))
	}
	return q.Encode()
}

// rawCBC encrypts plaintext (a multiple of 16 bytes) under the app's key
// with no padding of its own, so that the corpus can carry bad padding.
func rawCBC(t *testing.T, plaintext []byte) string {
	t.Helper()
	key, err := base64.StdEncoding.DecodeString(aesKey + "=")
	if err != nil {
		t.Fatal(err)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]byte, len(plaintext))
	cipher.NewCBCEncrypter(block, key[:16]).CryptBlocks(out, plaintext)
	return base64.StdEncoding.EncodeToString(out)
}

// envelope is a safe-mode XML body carrying encrypt, with its signed query.
func envelope(encrypt string) (query string, body []byte) {
	return signedQuery(token, time.Now(), &encrypt),
		[]byte("<xml><ToUserName><![CDATA[" + gh + "]]></ToUserName><Encrypt><![CDATA[" + encrypt + "]]></Encrypt></xml>")
}

// corpus builds the hostile requests for an app with the given appid.
func corpus(t *testing.T, appID string) []hostile {
	now := time.Now()
	plain := signedQuery(token, now, nil)
	popup := pushtest.Encode(codec.XML, pushtest.Popup(gh, "o_hostile", now.Unix(), [2]string{"T1", "accept"}))
	popupJSON := pushtest.Encode(codec.JSON, pushtest.Popup(gh, "o_hostile", now.Unix(), [2]string{"T1", "accept"}))
	textWith := func(content string) []byte {
		return pushtest.Encode(codec.XML, pushtest.Text(gh, "o_hostile", now.Unix(), strconv.FormatInt(now.UnixNano(), 10), content))
	}
	limit := int(middleware.DefaultMaxBodyBytes)

	badB64Q, badB64 := envelope("!!!not base64!!!")
	// 16 random bytes, a length, a message, the appid, then a pad byte of 0
	// (PKCS#7 pad bytes run from 1 to 32).
	block := append(append(make([]byte, 16), 0, 0, 0, 2), `{}`+appID...)
	block = append(block, make([]byte, 64-len(block))...)
	badPadQ, badPad := envelope(rawCBC(t, block))
	block[63] = 33 // over the 32-byte block WeChat pads to
	badPad33Q, badPad33 := envelope(rawCBC(t, block))
	shortQ, short := envelope(base64.StdEncoding.EncodeToString(make([]byte, 15)))

	wrongApp, err := pushtest.New(pushtest.Config{Token: token, EncodingAESKey: aesKey, AppID: "wx_not_this_app_"})
	if err != nil {
		t.Fatal(err)
	}
	wrongAppReq, err := wrongApp.Request(pushtest.Popup(gh, "o_hostile", now.Unix(), [2]string{"T1", "accept"}))
	if err != nil {
		t.Fatal(err)
	}
	safe, err := pushtest.New(pushtest.Config{Token: token, EncodingAESKey: aesKey, AppID: appID})
	if err != nil {
		t.Fatal(err)
	}
	forgedMsgSig, err := safe.Request(pushtest.Popup(gh, "o_hostile", now.Unix(), [2]string{"T1", "accept"}))
	if err != nil {
		t.Fatal(err)
	}
	q, _ := url.ParseQuery(forgedMsgSig.RawQuery)
	q.Set("msg_signature", strings.Repeat("0", 40))

	return []hostile{
		{"body one byte over the limit", "POST", plain, append(append([]byte("<xml>"), make([]byte, limit-5)...), 'x'), 413, middleware.ReasonTooLarge, false},
		{"body far over the limit", "POST", plain, make([]byte, 4*limit), 413, "", true},
		{"truncated XML", "POST", plain, popup[:len(popup)/2], 400, middleware.ReasonMalformedBody, false},
		{"truncated JSON", "POST", plain, popupJSON[:len(popupJSON)/2], 400, middleware.ReasonMalformedBody, false},
		{"malformed XML", "POST", plain, []byte("<xml><ToUserName>gh</FromUserName></xml>"), 400, middleware.ReasonMalformedBody, false},
		{"malformed JSON", "POST", plain, []byte(`{"ToUserName":"gh","CreateTime":}`), 400, middleware.ReasonMalformedBody, false},
		{"deeply nested JSON", "POST", plain, []byte(strings.Repeat("[", limit-1)), 400, middleware.ReasonMalformedBody, false},
		{"deeply nested JSON objects", "POST", plain, []byte(strings.Repeat(`{"List":`, limit/9)), 400, middleware.ReasonMalformedBody, false},
		{"deeply nested XML", "POST", plain, []byte(strings.Repeat("<a>", limit/3)), 400, middleware.ReasonMalformedBody, false},
		{"huge CDATA under the limit", "POST", plain, textWith(strings.Repeat("数据", (limit-400)/6)), 200, "", false},
		{"unterminated huge CDATA", "POST", plain, []byte("<xml><Content><![CDATA[" + strings.Repeat("x", limit-100)), 400, middleware.ReasonMalformedBody, false},
		{"invalid UTF-8 in XML", "POST", plain, textWith("\xff\xfe\xfd"), 200, "", false},
		// Invalid UTF-8 inside a string is passed to the hooks as is, in
		// XML and JSON alike: the push is verified, only its text is odd.
		{"invalid UTF-8 in JSON", "POST", plain, []byte(`{"ToUserName":"` + gh + `","FromUserName":"o_hostile","CreateTime":1,"MsgType":"text","Content":"` + "\xff\xfe" + `","MsgId":"77"}`), 200, "", false},
		{"binary garbage", "POST", plain, []byte{0, 1, 2, 0xff, '<', 0}, 400, middleware.ReasonMalformedBody, false},
		{"empty body", "POST", plain, nil, 400, middleware.ReasonMalformedBody, false},
		{"bad base64", "POST", badB64Q, badB64, 400, middleware.ReasonDecrypt, false},
		{"bad padding (0)", "POST", badPadQ, badPad, 400, middleware.ReasonDecrypt, false},
		{"bad padding (33)", "POST", badPad33Q, badPad33, 400, middleware.ReasonDecrypt, false},
		{"ciphertext shorter than a block", "POST", shortQ, short, 400, middleware.ReasonDecrypt, false},
		{"wrong appid", "POST", wrongAppReq.RawQuery, wrongAppReq.Body, 400, middleware.ReasonAppID, false},
		{"forged signature", "POST", signedQuery("not-the-token", now, nil), popup, 403, middleware.ReasonBadSignature, false},
		{"forged msg_signature", "POST", q.Encode(), forgedMsgSig.Body, 403, middleware.ReasonBadSignature, false},
		{"no signature", "POST", "timestamp=1&nonce=2", popup, 401, middleware.ReasonMissingParams, false},
		{"replayed timestamp", "POST", signedQuery(token, now.Add(-10*time.Minute), nil), popup, 403, middleware.ReasonStaleTimestamp, false},
		{"timestamp from the future", "POST", signedQuery(token, now.Add(10*time.Minute), nil), popup, 403, middleware.ReasonStaleTimestamp, false},
		{"malformed query", "POST", "signature=%zz&timestamp=1&nonce=2", popup, 400, middleware.ReasonMalformedQuery, false},
		{"GET without echostr", "GET", plain, nil, 400, middleware.ReasonMissingEchostr, false},
	}
}

// sendHostile sends one corpus request and returns the answer; status 0
// means the server closed the connection first, where h.mayReset allows it.
func sendHostile(t *testing.T, c *http.Client, base string, h hostile) (int, string) {
	t.Helper()
	var body *strings.Reader
	if h.body != nil {
		body = strings.NewReader(string(h.body))
	} else {
		body = strings.NewReader("")
	}
	req, err := http.NewRequest(h.method, base+"/wechat/callback?"+h.query, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "text/xml")
	resp, err := c.Do(req)
	if err != nil && h.mayReset {
		t.Logf("%s: the server closed the connection before the body was sent (%v)", h.name, err)
		return 0, ""
	}
	if err != nil {
		t.Fatalf("%s: %v", h.name, err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 4096)
	for b.Len() < 1<<20 {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return resp.StatusCode, b.String()
}
