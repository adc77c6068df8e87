package middleware

import (
	"context"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/wxsub/wxsub/codec"
)

// hostileSize is the size of the hostile bodies below: the default
// MaxBodyBytes, so that the route reads them whole.
const hostileSize = int(DefaultMaxBodyBytes)

// hostileBodies are bodies of hostileSize bytes a stranger can send to a
// safe-mode route: junk, which no decoder reads past its first byte, and
// envelopes stuffed with subscription items (JSON under a top-level List,
// XML as root <List> elements), as small as an item can be, and no
// Encrypt.
func hostileBodies() map[string][]byte {
	junk := strings.Repeat("x", hostileSize)

	const jsonItem = `{"TemplateId":"T"},`
	var j strings.Builder
	j.WriteString(`{"ToUserName":"gh_97417a04a28d","List":[`)
	for j.Len()+len(jsonItem)+len(`{}]}`) <= hostileSize {
		j.WriteString(jsonItem)
	}
	j.WriteString(`{}]}`)

	const xmlItem = `<List><TemplateId>T</TemplateId></List>`
	var x strings.Builder
	x.WriteString(`<xml><ToUserName>gh_97417a04a28d</ToUserName>`)
	for x.Len()+len(xmlItem)+len(`</xml>`) <= hostileSize {
		x.WriteString(xmlItem)
	}
	x.WriteString(`</xml>`)

	return map[string][]byte{
		"junk":      pad(junk),
		"json_list": pad(j.String()),
		"xml_list":  pad(x.String()),
	}
}

// pad makes s exactly hostileSize bytes with trailing white space, which
// every decoder skips after the root.
func pad(s string) []byte {
	b := make([]byte, hostileSize)
	n := copy(b, s)
	for i := n; i < len(b); i++ {
		b[i] = ' '
	}
	return b
}

// unsignedSafeQueries are the queries of a safe-mode push from a stranger,
// who does not know the token: one with a forged signature next to the
// forged msg_signature, as WeChat's queries carry both, and one with
// msg_signature alone.
func unsignedSafeQueries() map[string]string {
	ts := strconv.FormatInt(now, 10)
	forged := strings.Repeat("0", 40)
	return map[string]string{
		"with_signature": "signature=" + forged + "&timestamp=" + ts + "&nonce=1&encrypt_type=aes&msg_signature=" + forged,
		"msg_signature":  "timestamp=" + ts + "&nonce=1&encrypt_type=aes&msg_signature=" + forged,
	}
}

// BenchmarkServeSafeUnsigned measures what a safe-mode route spends on an
// unsigned push of 1 MiB: a junk body (the baseline: refused at its first
// byte) against envelopes stuffed with items, for each form of query. A
// route that reads only what the signature check needs spends on the
// stuffed envelopes what it spends on junk.
func BenchmarkServeSafeUnsigned(b *testing.B) {
	e := newEndpoint(b, Config{EncodingAESKey: aesKey, AppID: appID, Mode: ModeSafe})
	ctx := context.Background()
	bodies := hostileBodies()
	for qname, q := range unsignedSafeQueries() {
		for _, bname := range []string{"junk", "json_list", "xml_list"} {
			req := Request{Method: "POST", RawQuery: q, Body: bodies[bname]}
			b.Run(qname+"/"+bname, func(b *testing.B) {
				b.SetBytes(int64(len(req.Body)))
				b.ReportAllocs()
				for b.Loop() {
					if r := e.Serve(ctx, req); r.Status < 400 {
						b.Fatalf("status %d %s", r.Status, r.Body)
					}
				}
			})
		}
	}
}

// bytesPerServe returns the bytes allocated by one Serve of req, averaged
// over n runs.
func bytesPerServe(e *Endpoint, req Request, n int) uint64 {
	ctx := context.Background()
	e.Serve(ctx, req) // warm up
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for range n {
		e.Serve(ctx, req)
	}
	runtime.ReadMemStats(&after)
	return (after.TotalAlloc - before.TotalAlloc) / uint64(n)
}

// TestUnsignedSafePushCostsNoMoreThanJunk is the regression test of issue
// 11 item 1: a safe-mode route decoded an unsigned envelope in full,
// gathering every item, before it checked msg_signature, so that 1 MiB of
// items cost 12–25 MiB of allocation against 224 bytes for junk. Whatever
// the query carries, a stranger's stuffed envelope must cost what junk
// costs, within 2×.
func TestUnsignedSafePushCostsNoMoreThanJunk(t *testing.T) {
	e := newEndpoint(t, Config{EncodingAESKey: aesKey, AppID: appID, Mode: ModeSafe})
	bodies := hostileBodies()
	for qname, q := range unsignedSafeQueries() {
		junk := bytesPerServe(e, Request{Method: "POST", RawQuery: q, Body: bodies["junk"]}, 20)
		for _, bname := range []string{"json_list", "xml_list"} {
			req := Request{Method: "POST", RawQuery: q, Body: bodies[bname]}
			if r := e.Serve(context.Background(), req); r.Status < 400 {
				t.Fatalf("%s %s: answered %d", qname, bname, r.Status)
			}
			got := bytesPerServe(e, req, 20)
			t.Logf("%s %s: %d bytes allocated per request, junk %d", qname, bname, got, junk)
			if got > max(2*junk, 4096) {
				t.Errorf("%s %s: %d bytes allocated per request, junk %d: want at most 2×", qname, bname, got, junk)
			}
		}
	}
}

// TestSafeQuerySignatureCheckedFirst: a safe-mode push whose query carries
// a signature is refused on it before its body is read; one that carries
// msg_signature alone is still served, since msg_signature is the check
// WeChat documents for safe mode.
func TestSafeQuerySignatureCheckedFirst(t *testing.T) {
	e := newEndpoint(t, Config{EncodingAESKey: aesKey, AppID: appID, Mode: ModeSafe})
	good := seal(t, textXML("1", "hello"), now)
	q, err := url.ParseQuery(good.query)
	if err != nil {
		t.Fatal(err)
	}
	checkResponse(t, "both signatures", e.Serve(context.Background(), post(good.query, good.body)), 200, "success")

	q.Set("signature", strings.Repeat("0", 40))
	checkResponse(t, "forged signature, good msg_signature", e.Serve(context.Background(), post(q.Encode(), good.body)), 403, ReasonBadSignature)
	// A forged signature is refused whatever the body: junk, or nothing.
	checkResponse(t, "forged signature, junk body", e.Serve(context.Background(), post(q.Encode(), "junk")), 403, ReasonBadSignature)

	// The V3 vector: WeChat's own safe-mode push carries both, and its
	// signature holds.
	if !codec.VerifySignature(token, v3Timestamp, v3Nonce, v3Signature) {
		t.Errorf("the V3 query signature does not verify")
	}

	q.Del("signature")
	again := seal(t, textXML("2", "hello"), now)
	q2, _ := url.ParseQuery(again.query)
	q2.Del("signature")
	checkResponse(t, "msg_signature alone", e.Serve(context.Background(), post(q2.Encode(), again.body)), 200, "success")
}
