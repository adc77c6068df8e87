package codec

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

const (
	tplA  = "VRR0UEO9VJOLs0MHlU0OilqX6MVFDwH3_3gz3Oc0NIc"
	tplB  = "9nLIlbOQZC5Y89AZteFEux3WCXRRRG5Wfzkpssu4bLI"
	tplC  = "BEwX0BO-T3MqK3Uc5oTU3CGBqzjpndk2jzUf7VfExd8"
	tplD  = "BEwX0BOT3MqK3Uc5oTU3CGBqzjpndk2jzUf7VfExd8"
	tplE  = "hD-ixGOhYmUfjOnI8MCzQMPshzGVeux_2vzyvQu7O68"
	ghSub = "gh_123456789abc"
	ghV   = "gh_97417a04a28d"
	userX = "otFpruAK8D-E6EfStSYonYSBZ8_4"
	userJ = "o7esq5OI1Uej6Xixw1lA2H7XDVbc"
	userS = "o7esq5PHRGBQYmeNyfG064wEFVpQ"
	userV = "o9AgO5Kd5ggOC-bXrbNODIiE3bGY"
	encV3 = "+qdx1OKCy+5JPCBFWw70tm0fJGb2Jmeia4FCB7kao+/Q5c/ohsOzQHi8khUOb05JCpj0JB4RvQMkUyus8TPxLKJGQqcvZqzDpVzazhZv6JsXUnnR8XGT740XgXZUXQ7vJVnAG+tE8NUd4yFyjPy7GgiaviNrlCTj+l5kdfMuFUPpRSrfMZuMcp3Fn2Pede2IuQrKEYwKSqFIZoNqJ4M8EajAsjLY2km32IIjdf8YL/P50F7mStwntrA2cPDrM1kb6mOcfBgRtWygb3VIYnSeOBrebufAlr7F9mFUPAJGj04="
)

func event(to, from string, at int64, ev string, items ...SubscribeItem) Message {
	return Message{ToUserName: to, FromUserName: from, CreateTime: at, MsgType: MsgTypeEvent, Event: ev, Items: items}
}

func popupItem(tpl, status string, scene int64) SubscribeItem {
	return SubscribeItem{TemplateID: tpl, Status: status, PopupScene: scene}
}

func sentItem(tpl, id string, code int64, status string) SubscribeItem {
	return SubscribeItem{TemplateID: tpl, MsgID: id, ErrorCode: code, ErrorStatus: status}
}

// decodeCases maps every file in testdata to the Message it must decode to
// (Raw and Format aside, which the test checks on its own).
var decodeCases = map[string]Message{
	// XML: the documented shapes and the tolerated ones.
	"popup.xml": event(ghSub, userX, 1610969440, EventSubscribePopup,
		popupItem(tplA, StatusAccept, 2), popupItem(tplB, StatusReject, 2)),
	"popup_indented_cdata.xml": event(ghSub, userX, 1610969440, EventSubscribePopup,
		popupItem(tplA, StatusAccept, 2)),
	"popup_toplevel_list.xml": event(ghSub, userX, 1610969440, EventSubscribePopup,
		popupItem(tplA, StatusAcceptWithAudio, 0)),
	"popup_prolog.xml": event(ghSub, userX, 1610969440, EventSubscribePopup,
		popupItem(tplA, StatusAccept, 0), popupItem(tplB, StatusBan, 0)),
	"change.xml": event(ghSub, userX, 1610969440, EventSubscribeChange,
		SubscribeItem{TemplateID: tplA, Status: StatusReject}),
	"sent.xml": event(ghSub, userX, 1610969468, EventSubscribeSent,
		sentItem(tplA, "1700827132819554304", 0, "success")),
	"sent_msgid_lower.xml": event(ghSub, userX, 1610969468, EventSubscribeSent,
		sentItem(tplA, "1864323726461255680", 10002, "system error"),
		sentItem(tplC, "1864323726461255681", 0, "success")),
	"text.xml": {ToUserName: ghV, FromUserName: userV, CreateTime: 1482048670, MsgType: MsgTypeText,
		Content: "this is a test", MsgID: "1234567890123456"},
	"text_entities.xml": {ToUserName: ghV, FromUserName: userV, CreateTime: 1482048670, MsgType: MsgTypeText,
		Content: `a <b> & "c" 'd' 你好 x]]>y`, MsgID: "9223372036854775807"},
	"image.xml": {ToUserName: ghV, FromUserName: userV, CreateTime: 1482048670, MsgType: MsgTypeImage,
		PicURL: "https://mmbiz.qpic.cn/example?a=1&b=2", MediaID: "media_id", MsgID: "1234567890123456"},
	"miniprogrampage.xml": {ToUserName: ghV, FromUserName: userV, CreateTime: 1482048670, MsgType: MsgTypeMiniProgramPage,
		MsgID: "1234567890123456", Title: "title", AppID: "appid", PagePath: "pages/index/index?foo=bar"},
	"enter_session.xml": {ToUserName: ghV, FromUserName: userV, CreateTime: 1482048670, MsgType: MsgTypeEvent,
		Event: EventEnterSession, SessionFrom: "sessionFrom"},
	"unknown_event.xml": {ToUserName: ghV, FromUserName: userV, CreateTime: 1714037059, MsgType: MsgTypeEvent,
		Event: "wxa_media_check"},
	"envelope_safe.xml": {ToUserName: ghV, Encrypt: encV3},
	"envelope_compatible.xml": {ToUserName: ghV, FromUserName: userV, CreateTime: 1714112445, MsgType: MsgTypeEvent,
		Event: "debug_demo", Encrypt: encV3},

	// JSON: every item placement, numbers as numbers or strings.
	"popup.json": event(ghSub, userX, 1610969440, EventSubscribePopup,
		popupItem(tplA, StatusAccept, 2), popupItem(tplB, StatusReject, 2)),
	"popup_strings.json": event(ghSub, userX, 1610969440, EventSubscribePopup,
		popupItem(tplA, StatusAccept, 2), popupItem(tplB, StatusReject, 2)),
	"popup_doc.json": event(ghSub, userJ, 1620973045, EventSubscribePopup,
		popupItem(tplE, StatusAccept, 0)),
	"popup_list_array.json": event(ghSub, userX, 1610969440, EventSubscribePopup,
		popupItem(tplA, StatusAccept, 2), popupItem(tplB, StatusReject, 2)),
	"popup_list_object.json": event(ghSub, userX, 1610969440, EventSubscribePopup,
		popupItem(tplA, StatusAcceptWithAudio, 0)),
	"popup_event_list_array.json": event(ghSub, userX, 1610969440, EventSubscribePopup,
		popupItem(tplA, StatusAccept, 2), popupItem(tplB, StatusFilter, 2)),
	"change_doc.json": event(ghSub, userJ, 1610968440, EventSubscribeChange,
		SubscribeItem{TemplateID: tplD, Status: StatusReject}),
	"change_list_object.json": event(ghSub, userJ, 1610968440, EventSubscribeChange,
		SubscribeItem{TemplateID: tplD, Status: StatusReject}),
	"change_toplevel_list.json": event(ghSub, userJ, 1610968440, EventSubscribeChange,
		SubscribeItem{TemplateID: tplD, Status: StatusReject}),
	"sent_doc.json": event(ghSub, userS, 1620963428, EventSubscribeSent,
		sentItem(tplC, "1864323726461255680", 0, "success")),
	"sent_list_array.json": event(ghSub, userS, 1620963428, EventSubscribeSent,
		sentItem(tplC, "1864323726461255680", 0, "success"),
		sentItem(tplA, "1864323726461255681", 10002, "system error")),
	"sent_array.json": event(ghSub, userS, 1620963428, EventSubscribeSent,
		sentItem(tplC, "1864323726461255680", 10003, "user refused")),
	"sent_toplevel_list.json": event(ghSub, userS, 1620963428, EventSubscribeSent,
		sentItem(tplC, "9007199254740993", 0, "success")),
	"text.json": {ToUserName: "toUser", FromUserName: "fromUser", CreateTime: 1482048670, MsgType: MsgTypeText,
		Content: "this is a test", MsgID: "1234567890123456"},
	"text_msgid_string.json": {ToUserName: "toUser", FromUserName: "fromUser", CreateTime: 1482048670, MsgType: MsgTypeText,
		Content: "big id", MsgID: "18446744073709551615"},
	"text_msgid_bignum.json": {ToUserName: "toUser", FromUserName: "fromUser", CreateTime: 1482048670, MsgType: MsgTypeText,
		Content: "big id", MsgID: "9223372036854775807"},
	"text_escapes.json": {ToUserName: "toUser", FromUserName: "fromUser", CreateTime: 1482048670, MsgType: MsgTypeText,
		Content: "a <b> & \"c\" \\ / \n\t你好 😀 你好", MsgID: "1234567890123457"},
	"image.json": {ToUserName: "toUser", FromUserName: "fromUser", CreateTime: 1482048670, MsgType: MsgTypeImage,
		PicURL: "this is a url", MediaID: "media_id", MsgID: "1234567890123456"},
	"miniprogrampage.json": {ToUserName: "toUser", FromUserName: "fromUser", CreateTime: 1482048670, MsgType: MsgTypeMiniProgramPage,
		MsgID: "1234567890123456", Title: "title", AppID: "appid", PagePath: "path"},
	"enter_session.json": {ToUserName: "toUser", FromUserName: "fromUser", CreateTime: 1482048670, MsgType: MsgTypeEvent,
		Event: EventEnterSession, SessionFrom: "sessionFrom"},
	"unknown_event.json": {ToUserName: ghV, FromUserName: userV, CreateTime: 1714037059, MsgType: MsgTypeEvent,
		Event: "debug_demo"},
	"envelope_safe.json": {ToUserName: ghV, Encrypt: encV3},
	"envelope_compatible.json": {ToUserName: ghV, FromUserName: userV, CreateTime: 1714112445, MsgType: MsgTypeEvent,
		Event: "debug_demo", Encrypt: encV3},
}

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecodeTestdata(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.*"))
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, path := range files {
		name := filepath.Base(path)
		if !strings.HasSuffix(name, ".xml") && !strings.HasSuffix(name, ".json") {
			continue
		}
		seen++
		t.Run(name, func(t *testing.T) {
			want, ok := decodeCases[name]
			if !ok {
				t.Fatalf("testdata/%s has no expected Message in decodeCases", name)
			}
			body := readTestdata(t, name)
			want.Format = XML
			if strings.HasSuffix(name, ".json") {
				want.Format = JSON
			}
			want.Raw = string(body)
			// A message reused from another decode must be reset.
			got := Message{Content: "stale", Items: []SubscribeItem{{TemplateID: "stale"}}}
			if err := Decode(body, &got); err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("Decode:\n got %#v\nwant %#v", got, want)
			}
		})
	}
	if seen != len(decodeCases) {
		t.Errorf("decodeCases has %d entries, testdata has %d bodies", len(decodeCases), seen)
	}
}

func TestDetectFormat(t *testing.T) {
	tests := []struct {
		body string
		want Format
		err  bool
	}{
		{"<xml/>", XML, false},
		{" \r\n\t<xml/>", XML, false},
		{"\xef\xbb\xbf<xml/>", XML, false},
		{`{"a":1}`, JSON, false},
		{"\n {}", JSON, false},
		{"", 0, true},
		{"   ", 0, true},
		{"[1]", 0, true},
		{"success", 0, true},
	}
	for _, tt := range tests {
		got, err := DetectFormat([]byte(tt.body))
		if got != tt.want || (err != nil) != tt.err {
			t.Errorf("DetectFormat(%q) = %v, %v; want %v, error %v", tt.body, got, err, tt.want, tt.err)
		}
		if err != nil && !errors.Is(err, ErrMalformed) {
			t.Errorf("DetectFormat(%q) error %v does not wrap ErrMalformed", tt.body, err)
		}
	}
}

func TestDecodeAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates; this test runs without -race")
	}
	tests := []struct {
		file string
		max  float64
	}{
		// One copy of the body for Raw, one slice for the items.
		{"popup.xml", 2},
		{"text.xml", 1},
		// The same, and goccy/go-json's reflect.Value.Slice when it zeroes
		// the end of the fixed array of popup items.
		{"popup.json", 3},
		{"text.json", 1},
	}
	for _, tt := range tests {
		body := readTestdata(t, tt.file)
		var m Message
		allocs := testing.AllocsPerRun(200, func() {
			if err := Decode(body, &m); err != nil {
				t.Fatal(err)
			}
		})
		if allocs > tt.max {
			t.Errorf("Decode(%s) allocates %v times, want at most %v", tt.file, allocs, tt.max)
		}
	}
}

// TestSpaceNextToCDATA is the regression test of issue 11 item 10: a push
// pretty-printed with each CDATA section on a line of its own decoded to
// ToUserName "\n    gh_…\n  ", so the route saw an unknown event. White
// space alone next to a section is indentation; inside a section, or in
// text with anything else, it is kept.
func TestSpaceNextToCDATA(t *testing.T) {
	tests := []struct {
		name, body, want string
	}{
		{"indented", "<xml><ToUserName>\n    <![CDATA[gh_1]]>\n  </ToUserName></xml>", "gh_1"},
		{"indented with CRLF and tabs", "<xml><ToUserName>\r\n\t<![CDATA[gh_1]]>\r\n</ToUserName></xml>", "gh_1"},
		{"between two sections", "<xml><ToUserName><![CDATA[gh_]]>\n <![CDATA[1]]></ToUserName></xml>", "gh_1"},
		{"around a comment", "<xml><ToUserName>\n<![CDATA[gh_1]]><!-- c -->\n</ToUserName></xml>", "gh_1"},
		{"space inside the section", "<xml><ToUserName><![CDATA[ gh_1\n ]]></ToUserName></xml>", " gh_1\n "},
		{"text next to a section", "<xml><ToUserName> a <![CDATA[b]]> c </ToUserName></xml>", " a b c "},
		{"space alone, no section", "<xml><ToUserName>  </ToUserName></xml>", "  "},
		{"space after a nested element", "<xml><ToUserName><![CDATA[a]]><n/> </ToUserName></xml>", "a "},
	}
	for _, tt := range tests {
		var m Message
		if err := Decode([]byte(tt.body), &m); err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if m.ToUserName != tt.want {
			t.Errorf("%s: ToUserName = %q, want %q", tt.name, m.ToUserName, tt.want)
		}
		var env Envelope
		if err := DecodeEnvelope([]byte(tt.body), &env); err != nil || env.ToUserName != tt.want {
			t.Errorf("%s: envelope ToUserName = %q (%v), want %q", tt.name, env.ToUserName, err, tt.want)
		}
		if strings.Contains(tt.body, "<n/>") {
			continue // Fields gives the inner XML of an element with children
		}
		fields, err := Fields(&m)
		if err != nil || fields["ToUserName"] != tt.want {
			t.Errorf("%s: Fields ToUserName = %q (%v), want %q", tt.name, fields["ToUserName"], err, tt.want)
		}
	}
}
