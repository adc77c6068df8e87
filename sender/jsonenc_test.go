package sender

import (
	"strings"
	"testing"
)

func TestAppendSubscribe(t *testing.T) {
	m := SubscribeMessage{
		ToUser: "o1", TemplateID: "T1", Page: "index?foo=bar", MiniProgramState: StateTrial, Lang: LangEnUS,
	}
	data := map[string]string{"thing2": "二", "amount1": "¥5", "date3": `a"b`}
	got := string(appendSubscribe(nil, &m, data))
	want := `{"touser":"o1","template_id":"T1","page":"index?foo=bar","miniprogram_state":"trial","lang":"en_US",` +
		`"data":{"amount1":{"value":"¥5"},"date3":{"value":"a\"b"},"thing2":{"value":"二"}}}`
	if got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	got = string(appendSubscribe(nil, &SubscribeMessage{ToUser: "o", TemplateID: "t"}, nil))
	if want := `{"touser":"o","template_id":"t","data":{}}`; got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
}

func TestIDString(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    string
		wantErr bool
	}{
		{`1864323726461255680`, "1864323726461255680", false},
		{`"1864323726461255680"`, "1864323726461255680", false},
		{`null`, "", false},
		{`0`, "0", false},
		{`true`, "", true},
		{`{}`, "", true},
		{`"unterminated`, "", true},
	} {
		var id idString
		err := id.UnmarshalJSON([]byte(tc.in))
		if (err != nil) != tc.wantErr || string(id) != tc.want {
			t.Errorf("UnmarshalJSON(%s) = %q, %v; want %q, error %v", tc.in, id, err, tc.want, tc.wantErr)
		}
	}
}

// FuzzDecodeSendAnswer feeds arbitrary bytes to the decoder of the send
// answer: it must not panic, and decoding is deterministic.
func FuzzDecodeSendAnswer(f *testing.F) {
	for _, s := range []string{
		`{"errcode":0,"errmsg":"ok","msgid":1864323726461255680}`,
		`{"errcode":0,"errmsg":"ok","msgid":"1864323726461255680"}`,
		`{"errcode":43101,"errmsg":"user refuse to accept the msg"}`,
		`{"errcode":-1}`,
		`{"msgid":null}`,
		`[]`,
		``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var a, b2 sendAnswer
		err1 := decodeAnswer(b, &a)
		err2 := decodeAnswer(b, &b2)
		if (err1 == nil) != (err2 == nil) || a != b2 {
			t.Fatalf("decoding %q twice gave %+v (%v) and %+v (%v)", b, a, err1, b2, err2)
		}
		if err1 == nil && a.MsgID != "" && a.MsgID[0] != '-' && (a.MsgID[0] < '0' || a.MsgID[0] > '9') && !strings.Contains(string(b), `"`) {
			t.Fatalf("non-numeric msgid %q decoded from %q without a string", a.MsgID, b)
		}
	})
}

// A hostile answer nested a million deep fails cleanly, without
// exhausting the stack.
func TestDecodeDeepAnswer(t *testing.T) {
	for _, body := range []string{
		`{"x":` + strings.Repeat("[", 1<<20),
		`{"msgid":` + strings.Repeat("[", 1<<20),
		strings.Repeat(`{"x":`, 200000),
	} {
		var out sendAnswer
		if err := decodeAnswer([]byte(body), &out); err == nil {
			t.Fatalf("decoding %.20q… succeeded", body)
		}
	}
}
