package codec

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestDecodeEnvelope(t *testing.T) {
	tests := []struct {
		name string
		body string
		want Envelope
		err  error
	}{
		{"safe XML", string(readTestdata(t, "envelope_safe.xml")), Envelope{"gh_97417a04a28d", encV3}, nil},
		{"safe JSON", string(readTestdata(t, "envelope_safe.json")), Envelope{"gh_97417a04a28d", encV3}, nil},
		{"compatible XML", string(readTestdata(t, "envelope_compatible.xml")), Envelope{"gh_97417a04a28d", encV3}, nil},
		{"compatible JSON", string(readTestdata(t, "envelope_compatible.json")), Envelope{"gh_97417a04a28d", encV3}, nil},
		{"no Encrypt", `<xml><ToUserName>gh</ToUserName></xml>`, Envelope{ToUserName: "gh"}, nil},
		{"escaped JSON", `{"Encrypt":"a\/b+c=","ToUserName":"gh"}`, Envelope{"gh", "a/b+c="}, nil},
		{"entity in XML", `<xml><Encrypt>a&amp;b</Encrypt></xml>`, Envelope{Encrypt: "a&b"}, nil},
		{"truncated XML", `<xml><Encrypt>`, Envelope{}, ErrMalformed},
		{"truncated JSON", `{"Encrypt":`, Envelope{}, ErrMalformed},
		{"empty", ``, Envelope{}, ErrMalformed},
	}
	for _, tt := range tests {
		env := Envelope{ToUserName: "stale", Encrypt: "stale"}
		err := DecodeEnvelope([]byte(tt.body), &env)
		if !errors.Is(err, tt.err) || (tt.err == nil) != (err == nil) {
			t.Errorf("%s: err = %v, want %v", tt.name, err, tt.err)
		}
		if env != tt.want {
			t.Errorf("%s: envelope = %+v, want %+v", tt.name, env, tt.want)
		}
	}
}

// TestDecodeEnvelopeAllocs pins what DecodeEnvelope is for: reading a
// plain envelope without copying the body.
func TestDecodeEnvelopeAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	for _, name := range []string{"envelope_safe.xml", "envelope_safe.json"} {
		body := readTestdata(t, name)
		var env Envelope
		allocs := testing.AllocsPerRun(100, func() {
			if err := DecodeEnvelope(body, &env); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("%s: %v allocations, want 0", name, allocs)
		}
	}
}

func TestDecryptMessage(t *testing.T) {
	c, err := NewCipher(keyV3, appV3)
	if err != nil {
		t.Fatal(err)
	}
	var m Message
	if err := c.DecryptMessage(encV3, &m); err != nil {
		t.Fatal(err)
	}
	want := Message{
		ToUserName: "gh_97417a04a28d", FromUserName: "o9AgO5Kd5ggOC-bXrbNODIiE3bGY",
		CreateTime: 1714112445, MsgType: "event", Event: "debug_demo", Format: JSON, Raw: plainV3,
	}
	if !reflect.DeepEqual(m, want) {
		t.Errorf("DecryptMessage(V3) = %+v\nwant %+v", m, want)
	}

	body := readTestdata(t, "popup.xml")
	if err := c.DecryptMessage(c.EncryptWithPrefix(prefixOf("0123456789abcdef"), body), &m); err != nil {
		t.Fatal(err)
	}
	want = decodeCases["popup.xml"]
	want.Format, want.Raw = XML, string(body)
	if !reflect.DeepEqual(m, want) {
		t.Errorf("DecryptMessage(popup.xml) = %+v\nwant %+v", m, want)
	}

	other, err := NewCipher(keyV3, "wx0000000000000000")
	if err != nil {
		t.Fatal(err)
	}
	failures := []struct {
		name       string
		c          *Cipher
		ciphertext string
		err        error
	}{
		{"bad base64", c, "!!!!", ErrBadCiphertext},
		{"short", c, "AAAA", ErrBadCiphertext},
		{"other appid", other, encV3, ErrAppIDMismatch},
		{"not a push", c, c.EncryptWithPrefix(prefixOf("0123456789abcdef"), []byte("hello")), ErrMalformed},
		{"empty push", c, c.EncryptWithPrefix(prefixOf("0123456789abcdef"), nil), ErrMalformed},
	}
	for _, f := range failures {
		m := Message{ToUserName: "stale"}
		err := f.c.DecryptMessage(f.ciphertext, &m)
		if !errors.Is(err, f.err) {
			t.Errorf("%s: err = %v, want %v", f.name, err, f.err)
		}
		if !reflect.DeepEqual(m, Message{}) {
			t.Errorf("%s: message left %+v, want zero", f.name, m)
		}
	}
}

// TestDecryptMessageAllocs checks that the plaintext is not copied: the
// decrypted buffer is the only allocation for a push without items.
func TestDecryptMessageAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	c, err := NewCipher(keyV3, appV3)
	if err != nil {
		t.Fatal(err)
	}
	var m Message
	allocs := testing.AllocsPerRun(100, func() {
		if err := c.DecryptMessage(encV3, &m); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 1 {
		t.Errorf("DecryptMessage: %v allocations, want 1", allocs)
	}
}

// stuffedEnvelopes are 1 MiB envelopes without Encrypt, stuffed with the
// smallest subscription items, as a stranger can send them.
func stuffedEnvelopes() map[string][]byte {
	stuff := func(head, item, tail string) []byte {
		b := []byte(head)
		for len(b)+len(item)+len(tail) <= 1<<20 {
			b = append(b, item...)
		}
		return append(b, tail...)
	}
	return map[string][]byte{
		"json_list":  stuff(`{"ToUserName":"gh","List":[`, `{"TemplateId":"T"},`, `{}]}`),
		"json_popup": stuff(`{"ToUserName":"gh","SubscribeMsgPopupEvent":[`, `{"TemplateId":"T"},`, `{}]}`),
		"xml_list":   stuff(`<xml><ToUserName>gh</ToUserName>`, `<List><TemplateId>T</TemplateId></List>`, `</xml>`),
		"xml_popup":  stuff(`<xml><ToUserName>gh</ToUserName><SubscribeMsgPopupEvent>`, `<List><TemplateId>T</TemplateId></List>`, `</SubscribeMsgPopupEvent></xml>`),
		// Keys with escapes are matched without decoding them into
		// strings; entities in repeated fields are decoded once, for the
		// last one (here the first ToUserName, which is plain).
		"json_escaped_keys": stuff(`{"ToUserName":"gh"`, `,"\u0041":0`, `}`),
		"json_escaped_near": stuff(`{"ToUserName":"gh"`, `,"\u0045ncrypX":"\/"`, `}`),
		"xml_entity_fields": stuff(`<xml><ToUserName>gh</ToUserName>`, `<Title>&amp;</Title>`, `</xml>`),
	}
}

// TestDecodeEnvelopeGathersNoItems is the regression test of issue 11
// item 1: DecodeEnvelope ran the full decoder, gathering every item of a
// body no signature had yet been checked for (12–25 MiB for 1 MiB of
// items). It must read ToUserName and Encrypt and allocate nothing.
func TestDecodeEnvelopeGathersNoItems(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	for name, body := range stuffedEnvelopes() {
		var env Envelope
		allocs := testing.AllocsPerRun(5, func() {
			if err := DecodeEnvelope(body, &env); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 || env != (Envelope{ToUserName: "gh"}) {
			t.Errorf("%s: %v allocations, envelope %+v; want 0 and ToUserName gh", name, allocs, env)
		}
	}
}

// TestDecodeEnvelopeSkipsWhatItDoesNotRead: members other than ToUserName
// and Encrypt are skipped unread, however Decode would judge their
// content, as long as the body is well-formed.
func TestDecodeEnvelopeSkipsWhatItDoesNotRead(t *testing.T) {
	tests := []struct {
		name string
		body string
		want Envelope
		err  error
	}{
		{"JSON item with a bad number", `{"ToUserName":"gh","Encrypt":"e","List":[{"PopupScene":"x"}]}`, Envelope{"gh", "e"}, nil},
		{"XML item with a bad number", `<xml><ToUserName>gh</ToUserName><List><PopupScene>x</PopupScene></List><Encrypt>e</Encrypt></xml>`, Envelope{"gh", "e"}, nil},
		{"JSON bad CreateTime", `{"CreateTime":"soon","Encrypt":"e"}`, Envelope{Encrypt: "e"}, nil},
		{"JSON last Encrypt wins, any case", `{"Encrypt":"a","encrypt":"b"}`, Envelope{Encrypt: "b"}, nil},
		{"JSON null Encrypt", `{"Encrypt":null}`, Envelope{}, nil},
		{"JSON trailing comma", `{"Encrypt":"e",}`, Envelope{Encrypt: "e"}, nil},
		{"JSON Encrypt not a string", `{"Encrypt":5}`, Envelope{}, ErrMalformed},
		{"JSON an earlier Encrypt not a string", `{"Encrypt":5,"Encrypt":"e"}`, Envelope{}, ErrMalformed},
		{"JSON escaped key", `{"\u0045ncrypt":"e","To\u0055serName":"gh"}`, Envelope{"gh", "e"}, nil},
		{"JSON key folding to ASCII", "{\"ToU\u017ferName\":\"gh\"}", Envelope{ToUserName: "gh"}, nil},
		{"JSON escaped key folding", `{"ToU\u017FerName":"gh"}`, Envelope{ToUserName: "gh"}, nil},
		{"JSON last of repeated escaped values", `{"Encrypt":"a\/b","Encrypt":"c\/d"}`, Envelope{Encrypt: "c/d"}, nil},
		{"XML last of repeated fields", `<xml><Encrypt>a&amp;b</Encrypt><Encrypt><![CDATA[c]]></Encrypt></xml>`, Envelope{Encrypt: "c"}, nil},
		{"JSON control character", "{\"Encrypt\":\"a\tb\"}", Envelope{}, ErrMalformed},
		{"JSON missing value", `{"List":,"Encrypt":"e"}`, Envelope{}, ErrMalformed},
		{"JSON missing comma", `{"List":[] "Encrypt":"e"}`, Envelope{}, ErrMalformed},
		{"JSON unbalanced", `{"List":[{]}],"Encrypt":"e"}`, Envelope{}, ErrMalformed},
		{"JSON nested too deep", `{"List":` + strings.Repeat("[", 65) + strings.Repeat("]", 65) + `}`, Envelope{}, ErrMalformed},
		{"JSON content after the object", `{"Encrypt":"e"} x`, Envelope{}, ErrMalformed},
		{"XML unclosed item", `<xml><List><TemplateId>T</List></xml>`, Envelope{}, ErrMalformed},
	}
	for _, tt := range tests {
		var env Envelope
		err := DecodeEnvelope([]byte(tt.body), &env)
		if !errors.Is(err, tt.err) || (tt.err == nil) != (err == nil) {
			t.Errorf("%s: err = %v, want %v", tt.name, err, tt.err)
		}
		if env != tt.want {
			t.Errorf("%s: envelope = %+v, want %+v", tt.name, env, tt.want)
		}
	}
}
