package middleware

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/xml"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"unsafe"

	"github.com/wxsub/wxsub/codec"
	"github.com/wxsub/wxsub/handlers"
)

// seedPopup is the two-item popup push of WeChat's documented XML sample
// (https://developers.weixin.qq.com/miniprogram/dev/framework/open-ability/subscribe-message.html),
// with its indentation.
const seedPopup = `<xml>
    <ToUserName><![CDATA[gh_123456789abc]]></ToUserName>
    <FromUserName><![CDATA[otFpruAK8D-E6EfStSYonYSBZ8_4]]></FromUserName>
    <CreateTime>1610969440</CreateTime>
    <MsgType><![CDATA[event]]></MsgType>
    <Event><![CDATA[subscribe_msg_popup_event]]></Event>
    <SubscribeMsgPopupEvent>
        <List>
            <TemplateId><![CDATA[VRR0UEO9VJOLs0MHlU0OilqX6MVFDwH3_3gz3Oc0NIc]]></TemplateId>
            <SubscribeStatusString><![CDATA[accept]]></SubscribeStatusString>
            <PopupScene>2</PopupScene>
        </List>
        <List>
            <TemplateId><![CDATA[9nLIlbOQZC5Y89AZteFEux3WCXRRRG5Wfzkpssu4bLI]]></TemplateId>
            <SubscribeStatusString><![CDATA[reject]]></SubscribeStatusString>
            <PopupScene>2</PopupScene>
        </List>
    </SubscribeMsgPopupEvent>
</xml>`

// xmlPopup is the struct encoding/xml decodes the same push into.
type xmlPopup struct {
	ToUserName   string
	FromUserName string
	CreateTime   int64
	MsgType      string
	Event        string
	Items        []struct {
		TemplateID string `xml:"TemplateId"`
		Status     string `xml:"SubscribeStatusString"`
		PopupScene int64
	} `xml:"SubscribeMsgPopupEvent>List"`
}

func benchMux(b *testing.B) *handlers.Mux {
	mux := handlers.NewMux()
	mux.OnSubscribePopup(func(_ context.Context, ev *handlers.SubscribePopupEvent) error {
		if len(ev.Items) != 2 {
			b.Error("wrong event")
		}
		return nil
	})
	return mux
}

// BenchmarkServePlainXML measures the whole route for a plaintext XML
// popup push (verify, decode, dedupe, dispatch to a no-op hook) against
// encoding/xml decoding alone of the same body. Each iteration's push has
// its own CreateTime, so that deduplication claims a new key every time.
func BenchmarkServePlainXML(b *testing.B) {
	body := []byte(seedPopup)
	b.Run("wxsub", func(b *testing.B) {
		e := newEndpoint(b, Config{Mux: benchMux(b), ReplayWindow: NoReplayCheck})
		q := signedQuery(now, "415670741")
		at := strings.Index(seedPopup, "1610969440")
		ctx := context.Background()
		req := Request{Method: "POST", RawQuery: q, Body: body}
		n := int64(1_000_000_000)
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		for b.Loop() {
			n++
			strconv.AppendInt(body[at:at], n, 10)
			if r := e.Serve(ctx, req); r.Status != 200 {
				b.Fatalf("status %d %s", r.Status, r.Body)
			}
		}
	})
	b.Run("encoding_xml", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		for b.Loop() {
			var v xmlPopup
			if err := xml.Unmarshal(body, &v); err != nil || len(v.Items) != 2 {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkServeSafe measures the whole route for a safe-mode push (the
// same popup, encrypted) against the crypto floor: base64 decoding, AES-CBC
// decryption and the SHA-1 of the msg_signature over the same bytes.
func BenchmarkServeSafe(b *testing.B) {
	s := seal(b, seedPopup, now)
	b.Run("wxsub", func(b *testing.B) {
		// Every iteration delivers the same push. Its key is the default
		// key, computed as for any push, then made its own in place (the
		// string was just allocated and nothing else holds it), so that
		// deduplication claims a new key every time, as for distinct
		// pushes, at no cost a real push does not pay.
		var seq atomic.Uint64
		key := func(m *codec.Message) string {
			k := DefaultDedupeKey(m)
			b := unsafe.Slice(unsafe.StringData(k), len(k))
			hex.Encode(b[2:18], binary.BigEndian.AppendUint64(nil, seq.Add(1)))
			return k
		}
		e := newEndpoint(b, Config{Mux: benchMux(b), EncodingAESKey: aesKey, AppID: appID, Mode: ModeSafe, DedupeKey: key})
		ctx := context.Background()
		req := s.request()
		b.SetBytes(int64(len(req.Body)))
		b.ReportAllocs()
		for b.Loop() {
			if r := e.Serve(ctx, req); r.Status != 200 {
				b.Fatalf("status %d %s", r.Status, r.Body)
			}
		}
	})
	b.Run("crypto_floor", func(b *testing.B) {
		q, _ := parseQuery(s.query)
		var env codec.Message
		mustOK(b, codec.Decode([]byte(s.body), &env))
		key, err := base64.StdEncoding.DecodeString(aesKey + "=")
		mustOK(b, err)
		block, err := aes.NewCipher(key)
		mustOK(b, err)
		b.SetBytes(int64(len(s.body)))
		b.ReportAllocs()
		for b.Loop() {
			parts := []string{token, q.timestamp, q.nonce, env.Encrypt}
			sort.Strings(parts)
			h := sha1.New()
			for _, p := range parts {
				h.Write([]byte(p))
			}
			var sum [sha1.Size]byte
			h.Sum(sum[:0])
			buf, err := base64.StdEncoding.DecodeString(env.Encrypt)
			if err != nil {
				b.Fatal(err)
			}
			cipher.NewCBCDecrypter(block, key[:16]).CryptBlocks(buf, buf)
		}
	})
}
