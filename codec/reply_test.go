package codec

import (
	"encoding/xml"
	"strings"
	"testing"

	"github.com/goccy/go-json"
)

func TestTransferCustomerService(t *testing.T) {
	msg := &Message{ToUserName: "gh_97417a04a28d", FromUserName: "o9AgO5Kd5ggOC-bXrbNODIiE3bGY", MsgType: MsgTypeText}
	got := TransferCustomerService(msg, 1399197672)
	want := Reply{ToUserName: "o9AgO5Kd5ggOC-bXrbNODIiE3bGY", FromUserName: "gh_97417a04a28d", CreateTime: 1399197672, MsgType: "transfer_customer_service"}
	if got != want {
		t.Errorf("TransferCustomerService = %+v, want %+v", got, want)
	}
}

func TestEncodeReplyExact(t *testing.T) {
	r := Reply{ToUserName: "openid", FromUserName: "gh_97417a04a28d", CreateTime: 1399197672, MsgType: MsgTypeTransferCustomerService}
	tests := []struct {
		f    Format
		want string
	}{
		{XML, "<xml><ToUserName><![CDATA[openid]]></ToUserName><FromUserName><![CDATA[gh_97417a04a28d]]></FromUserName>" +
			"<CreateTime>1399197672</CreateTime><MsgType><![CDATA[transfer_customer_service]]></MsgType></xml>"},
		{JSON, `{"ToUserName":"openid","FromUserName":"gh_97417a04a28d","CreateTime":1399197672,"MsgType":"transfer_customer_service"}`},
		// Any format but JSON gets WeChat's default, XML.
		{0, "<xml><ToUserName><![CDATA[openid]]></ToUserName><FromUserName><![CDATA[gh_97417a04a28d]]></FromUserName>" +
			"<CreateTime>1399197672</CreateTime><MsgType><![CDATA[transfer_customer_service]]></MsgType></xml>"},
	}
	for _, tt := range tests {
		if got := string(EncodeReply(tt.f, r)); got != tt.want {
			t.Errorf("EncodeReply(%v):\n got %s\nwant %s", tt.f, got, tt.want)
		}
	}
}

func TestEncodeEncryptedReplyExact(t *testing.T) {
	got := string(EncodeEncryptedReply(XML, "ENC", "SIG", 1713424427, "415670741"))
	want := "<xml><Encrypt><![CDATA[ENC]]></Encrypt><MsgSignature><![CDATA[SIG]]></MsgSignature>" +
		"<TimeStamp>1713424427</TimeStamp><Nonce><![CDATA[415670741]]></Nonce></xml>"
	if got != want {
		t.Errorf("EncodeEncryptedReply(XML):\n got %s\nwant %s", got, want)
	}
	got = string(EncodeEncryptedReply(JSON, "ENC", "SIG", -5, "n\"once"))
	want = `{"Encrypt":"ENC","MsgSignature":"SIG","TimeStamp":-5,"Nonce":"n\"once"}`
	if got != want {
		t.Errorf("EncodeEncryptedReply(JSON):\n got %s\nwant %s", got, want)
	}
}

// awkward holds text every encoder must carry intact.
var awkward = []string{
	"",
	"plain",
	"]]>",
	"a]]>b]]>c",
	"]]]]>>",
	"]",
	"]]",
	"<tag> & \"quotes\" 'apos'",
	"line\nbreak\ttab",
	"你好, 世界 😀",
	"\u2028\u2029",
	"ctl\x01\x1f",
}

func TestEncodeReplyRoundTrip(t *testing.T) {
	for _, s := range awkward {
		r := Reply{ToUserName: s, FromUserName: "gh_" + s, CreateTime: 1399197672, MsgType: s + "type"}
		for _, f := range []Format{XML, JSON} {
			body := EncodeReply(f, r)
			var m Message
			if err := Decode(body, &m); err != nil {
				t.Errorf("%v %q: decode: %v\n%s", f, s, err, body)
				continue
			}
			got := Reply{ToUserName: m.ToUserName, FromUserName: m.FromUserName, CreateTime: m.CreateTime, MsgType: m.MsgType}
			// Control characters are not XML characters; the scanner
			// passes them through all the same.
			if got != r {
				t.Errorf("%v %q: round trip = %+v, want %+v", f, s, got, r)
			}
		}
	}
}

func TestEncodeReplyWellFormed(t *testing.T) {
	for _, s := range awkward {
		if strings.ContainsAny(s, "\x01\x1f") {
			continue // not XML characters: no XML document may hold them
		}
		r := Reply{ToUserName: s, FromUserName: s, CreateTime: 1, MsgType: s}
		var std struct {
			ToUserName, FromUserName, MsgType string
			CreateTime                        int64
		}
		if err := xml.Unmarshal(EncodeReply(XML, r), &std); err != nil {
			t.Errorf("%q: encoding/xml rejects the reply: %v", s, err)
			continue
		}
		if std.ToUserName != s || std.FromUserName != s || std.MsgType != s || std.CreateTime != 1 {
			t.Errorf("%q: encoding/xml reads %+v", s, std)
		}
		var env struct{ Encrypt, MsgSignature, Nonce string }
		if err := xml.Unmarshal(EncodeEncryptedReply(XML, s, s, 2, s), &env); err != nil {
			t.Errorf("%q: encoding/xml rejects the encrypted reply: %v", s, err)
		} else if env.Encrypt != s || env.MsgSignature != s || env.Nonce != s {
			t.Errorf("%q: encoding/xml reads %+v", s, env)
		}
		var js struct{ Encrypt, MsgSignature, Nonce string }
		if err := json.Unmarshal(EncodeEncryptedReply(JSON, s, s, 2, s), &js); err != nil {
			t.Errorf("%q: JSON encrypted reply: %v", s, err)
		} else if js.Encrypt != s || js.MsgSignature != s || js.Nonce != s {
			t.Errorf("%q: JSON encrypted reply reads %+v", s, js)
		}
	}
}
