package middleware

import (
	"context"
	"runtime"
	"strconv"
	"strings"
	"testing"
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
