package middleware

import (
	"context"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/wxsub/wxsub/codec"
	"github.com/wxsub/wxsub/handlers"
	"github.com/wxsub/wxsub/store/memory"
)

// reasons are the only bodies an error response may have.
var reasons = map[string]bool{
	ReasonMethod: true, ReasonMalformedQuery: true, ReasonMissingParams: true, ReasonMissingEchostr: true,
	ReasonBadSignature: true, ReasonStaleTimestamp: true, ReasonTooLarge: true, ReasonEncryptType: true,
	ReasonNoKey: true, ReasonPlaintextRefuse: true, ReasonMalformedBody: true, ReasonMissingEncrypt: true,
	ReasonDecrypt: true, ReasonAppID: true, ReasonToUserName: true, ReasonHookFailed: true,
	ReasonHookTimeout: true, ReasonStore: true, ReasonInFlight: true, ReasonQueueFull: true,
	ReasonClosed: true, ReasonReply: true,
}

// fuzzMux has a hook for every kind, so that every typed event is built.
func fuzzMux(t testing.TB) *handlers.Mux {
	mux := handlers.NewMux()
	mux.OnSubscribePopup(func(_ context.Context, ev *handlers.SubscribePopupEvent) error {
		for _, it := range ev.Items {
			_ = it.Accepted()
		}
		return nil
	})
	mux.OnSubscribeChange(func(context.Context, *handlers.SubscribeChangeEvent) error { return nil })
	mux.OnSubscribeSent(func(context.Context, *handlers.SubscribeSentEvent) error { return nil })
	mux.OnText(func(_ context.Context, m *handlers.TextMessage) error {
		m.TransferToCustomerService()
		return nil
	})
	mux.OnImage(func(context.Context, *handlers.ImageMessage) error { return nil })
	mux.OnMiniProgramPage(func(context.Context, *handlers.MiniProgramPageMessage) error { return nil })
	mux.OnEnterSession(func(_ context.Context, ev *handlers.EnterSessionEvent) error {
		ev.TransferToCustomerService()
		return nil
	})
	mux.OnUnknown(func(context.Context, *handlers.UnknownMessage) error { return nil })
	return mux
}

// FuzzServe feeds arbitrary queries and bodies to Serve, as they come and
// correctly signed (and, for the safe-mode endpoint, encrypted), so that
// the fuzzer reaches decoding, bookkeeping and dispatch. Serve must never
// panic and must answer only statuses of the table, with fixed reasons.
func FuzzServe(f *testing.F) {
	f.Add("signature="+v2Signature+"&timestamp="+v2Timestamp+"&nonce="+v2Nonce, []byte(v2Body))
	f.Add("signature="+v3Signature+"&timestamp="+v3Timestamp+"&nonce="+v3Nonce+"&encrypt_type=aes&msg_signature="+v3MsgSignature, []byte(v3Body))
	f.Add("", []byte(popupXML(openID, now, [2]string{"T1", "accept"}, [2]string{"L1", "reject"})))
	f.Add("echostr=1", []byte(changeJSON(openID, now, "L1", "reject")))
	f.Add("encrypt_type=aes", []byte(textXML("1", "x")))

	mux := fuzzMux(f)
	mem := memory.New()
	base := Config{Token: token, Mux: mux, Grants: mem, Dedupe: mem, LongTerm: TemplateSet("L1"),
		Now: clock(now), MaxBodyBytes: 64 << 10, HookTimeout: 2 * time.Second}
	plainCfg := base
	plain, err := New(plainCfg)
	if err != nil {
		f.Fatal(err)
	}
	safeCfg := base
	safeCfg.EncodingAESKey, safeCfg.AppID, safeCfg.Mode = aesKey, appID, ModeSafe
	safe, err := New(safeCfg)
	if err != nil {
		f.Fatal(err)
	}
	cipher, err := codec.NewCipher(aesKey, appID)
	if err != nil {
		f.Fatal(err)
	}
	ts := strconv.FormatInt(now, 10)

	f.Fuzz(func(t *testing.T, query string, body []byte) {
		ctx := context.Background()
		check := func(what string, r Response) {
			switch r.Status {
			case 200:
			case 400, 401, 403, 405, 413, 500, 503:
				if !reasons[string(r.Body)] {
					t.Fatalf("%s: status %d with body %q, not a fixed reason", what, r.Status, r.Body)
				}
			default:
				t.Fatalf("%s: status %d is not in the table", what, r.Status)
			}
		}
		for _, e := range []*Endpoint{plain, safe} {
			check("GET", e.Serve(ctx, Request{Method: "GET", RawQuery: query}))
			check("POST", e.Serve(ctx, Request{Method: "POST", RawQuery: query, Body: body}))
		}

		nonce := url.QueryEscape(query)
		if len(nonce) > 64 {
			nonce = nonce[:64]
		}
		unescaped, err := url.QueryUnescape(nonce)
		if err != nil {
			return
		}
		signed := "signature=" + codec.Signature(token, ts, unescaped) + "&timestamp=" + ts + "&nonce=" + nonce
		check("signed POST", plain.Serve(ctx, Request{Method: "POST", RawQuery: signed, Body: body}))

		var prefix [16]byte
		copy(prefix[:], query)
		enc := cipher.EncryptWithPrefix(prefix, body)
		q := "timestamp=" + ts + "&nonce=" + nonce + "&encrypt_type=aes&msg_signature=" + codec.Signature(token, ts, unescaped, enc)
		env := `{"ToUserName":"` + ghID + `","Encrypt":"` + enc + `"}`
		check("sealed POST", safe.Serve(ctx, Request{Method: "POST", RawQuery: q, Body: []byte(env)}))
	})
}
