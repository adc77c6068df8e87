package codec

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestDecodeXMLMalformed(t *testing.T) {
	tests := []struct{ name, body string }{
		{"empty", ""},
		{"text only", "hello"},
		{"wrong root", "<root><ToUserName>a</ToUserName></root>"},
		{"unterminated root", "<xml><ToUserName>a</ToUserName>"},
		{"unterminated field", "<xml><ToUserName>a"},
		{"mismatched end tag", "<xml><ToUserName>a</FromUserName></xml>"},
		{"mismatched nested end tag", "<xml><Unknown><a></b></Unknown></xml>"},
		{"unterminated CDATA", "<xml><ToUserName><![CDATA[a</ToUserName></xml>"},
		{"unterminated comment", "<xml><!-- a </xml>"},
		{"unterminated PI", "<?xml version='1.0' <xml/>"},
		{"unknown entity", "<xml><Content>&nbsp;</Content></xml>"},
		{"bad entity in a skipped element", "<xml><Unknown><a>x</a>&0000;</Unknown></xml>"},
		{"bad entity between elements", "<xml>&bogus;<ToUserName>a</ToUserName></xml>"},
		{"bad entity in a container", "<xml><SubscribeMsgPopupEvent>&#0;<List/></SubscribeMsgPopupEvent></xml>"},
		{"bad entity in an item", "<xml><List><Other>&x</Other></List></xml>"},
		{"entity without semicolon", "<xml><Content>a &amp b</Content></xml>"},
		{"char ref zero", "<xml><Content>&#0;</Content></xml>"},
		{"char ref surrogate", "<xml><Content>&#xD800;</Content></xml>"},
		{"char ref too big", "<xml><Content>&#x110000;</Content></xml>"},
		{"char ref no digits", "<xml><Content>&#x;</Content></xml>"},
		{"char ref bad digit", "<xml><Content>&#12a;</Content></xml>"},
		{"CreateTime not a number", "<xml><CreateTime>soon</CreateTime></xml>"},
		{"CreateTime overflow", "<xml><CreateTime>9223372036854775808</CreateTime></xml>"},
		{"CreateTime huge", "<xml><CreateTime>99999999999999999999999</CreateTime></xml>"},
		{"CreateTime sign only", "<xml><CreateTime>-</CreateTime></xml>"},
		{"PopupScene not a number", "<xml><SubscribeMsgPopupEvent><List><PopupScene>x</PopupScene></List></SubscribeMsgPopupEvent></xml>"},
		{"ErrorCode not a number", "<xml><List><ErrorCode>1.5</ErrorCode></List></xml>"},
		{"MsgId not digits", "<xml><MsgId>12ab</MsgId></xml>"},
		{"item MsgID negative", "<xml><List><MsgID>-1</MsgID></List></xml>"},
		{"content after root", "<xml></xml><xml></xml>"},
		{"text after root", "<xml></xml>trailing"},
		{"DOCTYPE", `<!DOCTYPE xml [<!ENTITY x "y">]><xml></xml>`},
		{"declaration in element", "<xml><!ELEMENT x></xml>"},
		{"bad name", "<xml><1abc>x</1abc></xml>"},
		{"bad char after name", "<xml><ToUserName=x>a</ToUserName></xml>"},
		{"slash in start tag", "<xml><a / b>x</a></xml>"},
		{"lt in start tag", "<xml><a <b>x</a></xml>"},
		{"unterminated attribute", `<xml><a b="x>y</a></xml>`},
		{"unterminated start tag", "<xml><a"},
		{"unterminated end tag", "<xml><a>x</a"},
		{"lone lt", "<xml><"},
		{"item unterminated", "<xml><SubscribeMsgPopupEvent><List><TemplateId>a</TemplateId>"},
		{"container mismatched", "<xml><SubscribeMsgPopupEvent><List></List></SubscribeMsgSentEvent></xml>"},
	}
	for _, tt := range tests {
		m := Message{Content: "stale"}
		err := DecodeXML([]byte(tt.body), &m)
		if !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: DecodeXML(%q) = %v, want ErrMalformed", tt.name, tt.body, err)
		}
		if !reflect.DeepEqual(m, Message{}) {
			t.Errorf("%s: message not zero after error: %+v", tt.name, m)
		}
	}
}

func TestDecodeJSONMalformed(t *testing.T) {
	tests := []struct{ name, body string }{
		{"empty", ""},
		{"array", "[]"},
		{"string", `"x"`},
		{"unterminated object", `{"ToUserName":"a"`},
		{"unterminated string", `{"ToUserName":"a}`},
		{"unbalanced", `{"a":1}}`},
		{"missing colon", `{"ToUserName" "a"}`},
		{"two commas", `{"a":1,,}`},
		{"empty element", `{"a":[1,,2]}`},
		{"leading comma", `{,"a":1}`},
		{"trailing garbage", `{"a":1} x`},
		{"string for a string field as number", `{"ToUserName":5}`},
		{"CreateTime float", `{"CreateTime":1.5}`},
		{"CreateTime exponent", `{"CreateTime":"1e3"}`},
		{"CreateTime word", `{"CreateTime":"soon"}`},
		{"CreateTime escaped word", `{"CreateTime":"\u0031x"}`},
		{"CreateTime padded float", `{"CreateTime":" 1.5 "}`},
		{"CreateTime bool", `{"CreateTime":true}`},
		{"CreateTime overflow", `{"CreateTime":9223372036854775808}`},
		{"MsgId negative", `{"MsgId":-1}`},
		{"MsgId float", `{"MsgId":1.5}`},
		{"MsgID object", `{"MsgID":{}}`},
		{"items number", `{"SubscribeMsgPopupEvent":5}`},
		{"items string", `{"List":"x"}`},
		{"item not object", `{"SubscribeMsgPopupEvent":[1]}`},
		{"item PopupScene word", `{"List":{"PopupScene":"x"}}`},
		{"item ErrorCode float", `{"SubscribeMsgSentEvent":{"List":[{"ErrorCode":0.5}]}}`},
		{"item MsgID word", `{"List":[{"MsgID":"abc"}]}`},
		{"item TemplateId number", `{"List":[{"TemplateId":1}]}`},
		{"nested List not items", `{"SubscribeMsgSentEvent":{"List":true}}`},
		{"bad escape", `{"Content":"\x"}`},
		{"bad literal", `{"Content":nul}`},
	}
	for _, tt := range tests {
		m := Message{Content: "stale"}
		err := DecodeJSON([]byte(tt.body), &m)
		if !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: DecodeJSON(%q) = %v, want ErrMalformed", tt.name, tt.body, err)
		}
		if !reflect.DeepEqual(m, Message{}) {
			t.Errorf("%s: message not zero after error: %+v", tt.name, m)
		}
	}
}

func TestDecodeTolerated(t *testing.T) {
	tests := []struct {
		name, body string
		want       Message
	}{
		{"XML empty root", "<xml/>", Message{}},
		{"XML BOM and attributes", "\xef\xbb\xbf<xml a='1' b=\"2\"><ToUserName x='>'>gh</ToUserName></xml>", Message{ToUserName: "gh"}},
		{"XML self-closing fields", "<xml><ToUserName/><CreateTime/><List/></xml>", Message{}},
		{"XML empty items left out", "<xml><List><PopupScene>0</PopupScene></List><List><Status>x</Status></List><List><ErrorCode>1</ErrorCode></List></xml>",
			Message{Items: []SubscribeItem{{ErrorCode: 1}}}},
		{"XML last duplicate wins", "<xml><ToUserName>a</ToUserName><ToUserName>b</ToUserName></xml>", Message{ToUserName: "b"}},
		{"XML nested element in field skipped", "<xml><Content>a<b>skip</b>c</Content></xml>", Message{Content: "ac"}},
		{"XML CRLF normalized", "<xml><Content>a\r\nb\rc</Content></xml>", Message{Content: "a\nb\nc"}},
		{"XML CRLF in CDATA", "<xml><Content><![CDATA[a\r\nb]]></Content></xml>", Message{Content: "a\nb"}},
		{"XML char ref CR kept", "<xml><Content>a&#13;\nb</Content></xml>", Message{Content: "a\r\nb"}},
		{"XML end tag space", "<xml><ToUserName>a</ToUserName \n></xml >", Message{ToUserName: "a"}},
		{"XML signed numbers", "<xml><CreateTime>+12</CreateTime><List><ErrorCode>-1</ErrorCode></List></xml>",
			Message{CreateTime: 12, Items: []SubscribeItem{{ErrorCode: -1}}}},
		{"XML many items", "<xml><SubscribeMsgPopupEvent>" + strings.Repeat("<List><TemplateId>t</TemplateId></List>", 6) + "</SubscribeMsgPopupEvent></xml>",
			Message{Items: []SubscribeItem{{TemplateID: "t"}, {TemplateID: "t"}, {TemplateID: "t"}, {TemplateID: "t"}, {TemplateID: "t"}, {TemplateID: "t"}}}},
		{"XML both containers", "<xml><SubscribeMsgSentEvent><List><MsgID>2</MsgID></List></SubscribeMsgSentEvent><List><MsgID>3</MsgID></List></xml>",
			Message{Items: []SubscribeItem{{MsgID: "2"}, {MsgID: "3"}}}},
		{"XML unknown child of container", "<xml><SubscribeMsgSentEvent><Other><List>no</List></Other><List><MsgID>1</MsgID></List></SubscribeMsgSentEvent></xml>",
			Message{Items: []SubscribeItem{{MsgID: "1"}}}},
		{"JSON empty", "{}", Message{}},
		{"JSON nulls", `{"ToUserName":null,"CreateTime":null,"List":null,"SubscribeMsgPopupEvent":null}`, Message{}},
		{"JSON null and empty items left out", `{"List":[null,{"TemplateId":"t"},{}]}`, Message{Items: []SubscribeItem{{TemplateID: "t"}}}},
		{"JSON null item, general path", `{"List":[null,{"TemplateId":"t"},{"PopupScene":"0"},],}`, Message{Items: []SubscribeItem{{TemplateID: "t"}}}},
		{"JSON shapes mixed", `{"SubscribeMsgSentEvent":{"List":{"MsgID":"3"}},"SubscribeMsgPopupEvent":[{"MsgID":"1"}],"List":[{"MsgID":"4"}]}`,
			Message{Items: []SubscribeItem{{MsgID: "1"}, {MsgID: "3"}, {MsgID: "4"}}}},
		{"JSON event object without List", `{"SubscribeMsgSentEvent":{"Other":1}}`, Message{}},
		{"JSON case-insensitive keys", `{"tousername":"a","list":{"templateid":"t"}}`, Message{ToUserName: "a", Items: []SubscribeItem{{TemplateID: "t"}}}},
		{"JSON folded keys, last wins", `{"List":{"TemplateId":"x"},"LIST":{"TemplateId":"y"}}`, Message{Items: []SubscribeItem{{TemplateID: "y"}}}},
		{"JSON escaped key", `{"\u004cist":{"TemplateId":"t"}}`, Message{Items: []SubscribeItem{{TemplateID: "t"}}}},
		{"JSON MsgID wins over MsgId", `{"MsgId":"1","MsgID":"2"}`, Message{MsgID: "2"}},
		{"JSON negative ErrorCode", `{"List":{"ErrorCode":-1}}`, Message{Items: []SubscribeItem{{ErrorCode: -1}}}},
		{"JSON order of item keys", `{"List":{"MsgID":"4"},"SubscribeMsgSentEvent":{"List":{"MsgID":"3"}},"SubscribeMsgPopupEvent":[{"MsgID":"1"}]}`,
			Message{Items: []SubscribeItem{{MsgID: "1"}, {MsgID: "3"}, {MsgID: "4"}}}},
		{"JSON trailing commas", `{"List":[{"TemplateId":"t",},],}`, Message{Items: []SubscribeItem{{TemplateID: "t"}}}},
		{"JSON empty and padded number strings", `{"CreateTime":"","MsgId":"","List":{"PopupScene":" 7 ","ErrorCode":"","MsgID":"\t12\n"}}`,
			Message{Items: []SubscribeItem{{PopupScene: 7, MsgID: "12"}}}},
		{"JSON escaped number string", `{"CreateTime":"\u0031\u0032"}`, Message{CreateTime: 12}},
		{"JSON four popup items", `{"SubscribeMsgPopupEvent":[{"TemplateId":"a"},{"TemplateId":"b"},{"TemplateId":"c"},{"TemplateId":"d"}]}`,
			Message{Items: []SubscribeItem{{TemplateID: "a"}, {TemplateID: "b"}, {TemplateID: "c"}, {TemplateID: "d"}}}},
		{"JSON nulls push popup items past the fixed array", `{"SubscribeMsgPopupEvent":[null,null,null,{"TemplateId":"a"},null,{"TemplateId":"b"}]}`,
			Message{Items: []SubscribeItem{{TemplateID: "a"}, {TemplateID: "b"}}}},
		{"JSON empty objects among popup items", `{"SubscribeMsgPopupEvent":[{},{"TemplateId":"a"},{},{"TemplateId":"b"}]}`,
			Message{Items: []SubscribeItem{{TemplateID: "a"}, {TemplateID: "b"}}}},
		{"JSON brace in a string", `{"Content":"{","SubscribeMsgPopupEvent":[{"TemplateId":"a"}]}`,
			Message{Content: "{", Items: []SubscribeItem{{TemplateID: "a"}}}},
		{"JSON unknown object beside popup", `{"x":{"y":1},"SubscribeMsgPopupEvent":[{"TemplateId":"a"}]}`,
			Message{Items: []SubscribeItem{{TemplateID: "a"}}}},
		{"JSON duplicate popup key, last wins", `{"SubscribeMsgPopupEvent":[{"TemplateId":"a"},{"TemplateId":"b"}],"SubscribeMsgPopupEvent":[{"TemplateId":"c"}]}`,
			Message{Items: []SubscribeItem{{TemplateID: "c"}}}},
		{"JSON popup items with unknown nested values", `{"SubscribeMsgPopupEvent":[{"TemplateId":"a","x":{"y":[1]}}]}`,
			Message{Items: []SubscribeItem{{TemplateID: "a"}}}},
		{"JSON BOM", "\xef\xbb\xbf{\"ToUserName\":\"a\"}", Message{ToUserName: "a"}},
		{"JSON unknown nested values", `{"x":{"y":[1,{"z":"]"}]},"ToUserName":"a\"]}"}`, Message{ToUserName: `a"]}`}},
	}
	for _, tt := range tests {
		var m Message
		if err := Decode([]byte(tt.body), &m); err != nil {
			t.Errorf("%s: Decode: %v", tt.name, err)
			continue
		}
		m.Raw, m.Format = "", 0
		if !reflect.DeepEqual(m, tt.want) {
			t.Errorf("%s:\n got %+v\nwant %+v", tt.name, m, tt.want)
		}
	}
}

func TestDeepNestingFailsFast(t *testing.T) {
	const size = 1 << 20
	tests := []struct {
		name string
		body string
	}{
		{"JSON brackets", strings.Repeat("[", size)},
		{"JSON brackets in a member", `{"a":` + strings.Repeat("[", size)},
		{"JSON objects", strings.Repeat(`{"a":`, size/5)},
		{"JSON balanced", `{"a":` + strings.Repeat("[", size/2) + strings.Repeat("]", size/2) + "}"},
		{"XML elements", "<xml>" + strings.Repeat("<a>", size/3)},
		{"XML balanced", "<xml><x>" + strings.Repeat("<a>", size/8) + strings.Repeat("</a>", size/8) + "</x></xml>"},
		{"XML open comment", "<xml><!--" + strings.Repeat("-", size)},
		{"XML lone lts", "<xml>" + strings.Repeat("<", size)},
	}
	for _, tt := range tests {
		start := time.Now()
		var m Message
		err := Decode([]byte(tt.body), &m)
		if !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v, want ErrMalformed", tt.name, err)
		}
		// Linear work on 1 MiB takes well under 0.2 s even with -race
		// on a loaded machine; a quadratic decode would take hours.
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("%s: took %v", tt.name, d)
		}
	}
}

func TestFields(t *testing.T) {
	tests := []struct {
		file string
		want map[string]string
	}{
		{"unknown_event.xml", map[string]string{
			"ToUserName": "gh_97417a04a28d", "FromUserName": "o9AgO5Kd5ggOC-bXrbNODIiE3bGY", "CreateTime": "1714037059",
			"MsgType": "event", "Event": "wxa_media_check", "isrisky": "0", "extra_info_json": `{"k":"v"}`,
			"appid": "wxba5fad812f8e6fb9", "trace_id": "967e945cd8a3e458f3c74dcb886068e9",
			"result": "<suggest><![CDATA[pass]]></suggest><label>100</label>",
		}},
		{"unknown_event.json", map[string]string{
			"ToUserName": "gh_97417a04a28d", "FromUserName": "o9AgO5Kd5ggOC-bXrbNODIiE3bGY", "CreateTime": "1714037059",
			"MsgType": "event", "Event": "debug_demo", "debug_str": "hello world",
		}},
		{"sent_list_array.json", map[string]string{
			"ToUserName": "gh_123456789abc", "FromUserName": "o7esq5PHRGBQYmeNyfG064wEFVpQ", "CreateTime": "1620963428",
			"MsgType": "event", "Event": "subscribe_msg_sent_event",
			"SubscribeMsgSentEvent": `{"List":[{"TemplateId":"BEwX0BO-T3MqK3Uc5oTU3CGBqzjpndk2jzUf7VfExd8","MsgID":1864323726461255680,"ErrorCode":0,"ErrorStatus":"success"},{"TemplateId":"VRR0UEO9VJOLs0MHlU0OilqX6MVFDwH3_3gz3Oc0NIc","MsgID":"1864323726461255681","ErrorCode":10002,"ErrorStatus":"system error"}]}`,
		}},
		{"text_entities.xml", map[string]string{
			"ToUserName": "gh_97417a04a28d", "FromUserName": "o9AgO5Kd5ggOC-bXrbNODIiE3bGY", "CreateTime": "1482048670",
			"MsgType": "text", "Content": `a <b> & "c" 'd' 你好 x]]>y`, "MsgId": "9223372036854775807",
		}},
		{"text_escapes.json", map[string]string{
			"ToUserName": "toUser", "FromUserName": "fromUser", "CreateTime": "1482048670", "MsgType": "text",
			"Content": "a <b> & \"c\" \\ / \n\t你好 😀 你好", "MsgId": "1234567890123457",
		}},
	}
	for _, tt := range tests {
		var m Message
		if err := Decode(readTestdata(t, tt.file), &m); err != nil {
			t.Fatal(err)
		}
		got, err := Fields(&m)
		if err != nil {
			t.Errorf("%s: Fields: %v", tt.file, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: Fields:\n got %q\nwant %q", tt.file, got, tt.want)
		}
		// Without a Format, Fields detects it.
		m.Format = 0
		if again, err := Fields(&m); err != nil || !reflect.DeepEqual(again, tt.want) {
			t.Errorf("%s: Fields without Format: %q, %v", tt.file, again, err)
		}
	}
}

func TestFieldsEdgeCases(t *testing.T) {
	tests := []struct {
		name string
		m    Message
		want map[string]string
	}{
		{"XML empty and duplicate", Message{Raw: "<xml><a/><b>1</b><b>2</b><c><![CDATA[x]]></c></xml>"},
			map[string]string{"a": "", "b": "2", "c": "x"}},
		{"JSON literals and escaped key", Message{Raw: `{"a":true,"b":null,"c":[1, 2],"\u0064":"e","f":-1.5e3,}`},
			map[string]string{"a": "true", "b": "null", "c": "[1, 2]", "d": "e", "f": "-1.5e3"}},
		{"XML empty root", Message{Raw: "<xml/>", Format: XML}, map[string]string{}},
	}
	for _, tt := range tests {
		got, err := Fields(&tt.m)
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: Fields = %q, %v; want %q", tt.name, got, err, tt.want)
		}
	}
	for _, m := range []Message{{Raw: ""}, {Raw: "<xml><a>"}, {Raw: `{"a":`}, {Raw: `{"a":1`, Format: JSON}, {Raw: `{"a" 1}`}, {Raw: "x", Format: 7}} {
		if _, err := Fields(&m); !errors.Is(err, ErrMalformed) {
			t.Errorf("Fields(%q, %v) = %v, want ErrMalformed", m.Raw, m.Format, err)
		}
	}
}

// TestJSONPathsAgree checks that the fast path and the general path decode
// every JSON sample to the same message.
func TestJSONPathsAgree(t *testing.T) {
	for _, name := range testdataFiles(t, ".json") {
		body := readTestdata(t, name)
		var fast, general Message
		if err := DecodeJSON(body, &fast); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		general = Message{Raw: string(body), Format: JSON}
		if err := decodeJSONGeneral(body, &general); err != nil {
			t.Fatalf("%s: general path: %v", name, err)
		}
		if !reflect.DeepEqual(fast, general) {
			t.Errorf("%s: paths disagree:\nfast    %#v\ngeneral %#v", name, fast, general)
		}
	}
}
