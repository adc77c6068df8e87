package codec

import (
	"reflect"
	"testing"
)

// TestDecodeItemShapes decodes every place and spelling of subscription
// items seen in real traffic and in the samples of
// https://developers.weixin.qq.com/miniprogram/dev/framework/open-ability/subscribe-message.html,
// with string and number variants of CreateTime, PopupScene, ErrorCode and
// MsgID.
func TestDecodeItemShapes(t *testing.T) {
	it := func(tmpl, st string) SubscribeItem { return SubscribeItem{TemplateID: tmpl, Status: st} }
	sent := func(tmpl, id string, code int64) SubscribeItem {
		return SubscribeItem{TemplateID: tmpl, MsgID: id, ErrorCode: code, ErrorStatus: "x"}
	}
	tests := []struct {
		name, body string
		want       []SubscribeItem
		ct         int64
		msgID      string
	}{
		{"json array under key", `{"CreateTime":"1","SubscribeMsgPopupEvent":[{"TemplateId":"a","SubscribeStatusString":"accept","PopupScene":"0"},{"TemplateId":"b","SubscribeStatusString":"reject","PopupScene":0}]}`,
			[]SubscribeItem{it("a", "accept"), it("b", "reject")}, 1, ""},
		{"json 4 items", `{"SubscribeMsgPopupEvent":[{"TemplateId":"a"},{"TemplateId":"b"},{"TemplateId":"c"},{"TemplateId":"d"}]}`,
			[]SubscribeItem{{TemplateID: "a"}, {TemplateID: "b"}, {TemplateID: "c"}, {TemplateID: "d"}}, 0, ""},
		{"json sent List object", `{"SubscribeMsgSentEvent":{"List":{"TemplateId":"a","MsgID":1864323726461255680,"ErrorCode":"0","ErrorStatus":"x"}}}`,
			[]SubscribeItem{sent("a", "1864323726461255680", 0)}, 0, ""},
		{"json sent List array", `{"SubscribeMsgSentEvent":{"List":[{"TemplateId":"a","MsgId":"1","ErrorCode":10005,"ErrorStatus":"x"},{"TemplateId":"b","MsgID":"2","ErrorCode":0,"ErrorStatus":"x"}]}}`,
			[]SubscribeItem{sent("a", "1", 10005), sent("b", "2", 0)}, 0, ""},
		{"json popup List object under key", `{"SubscribeMsgPopupEvent":{"List":{"TemplateId":"a","SubscribeStatusString":"accept"}}}`,
			[]SubscribeItem{it("a", "accept")}, 0, ""},
		{"json top List object", `{"List":{"TemplateId":"a","SubscribeStatusString":"accept","PopupScene":"2"}}`,
			[]SubscribeItem{{TemplateID: "a", Status: "accept", PopupScene: 2}}, 0, ""},
		{"json top List array + msgid number", `{"MsgId":18643237264612556801,"List":[{"TemplateId":"a","SubscribeStatusString":"reject"}]}`,
			[]SubscribeItem{it("a", "reject")}, 0, "18643237264612556801"},
		{"xml repeated List", `<xml><CreateTime> 5 </CreateTime><SubscribeMsgChangeEvent><List><TemplateId><![CDATA[a]]></TemplateId><SubscribeStatusString><![CDATA[reject]]></SubscribeStatusString></List><List><TemplateId>b</TemplateId><SubscribeStatusString>reject</SubscribeStatusString></List></SubscribeMsgChangeEvent></xml>`,
			[]SubscribeItem{it("a", "reject"), it("b", "reject")}, 5, ""},
		{"xml sent MsgID", `<xml><SubscribeMsgSentEvent><List><TemplateId>a</TemplateId><MsgID>1700827132819554304</MsgID><ErrorCode>0</ErrorCode><ErrorStatus>x</ErrorStatus></List></SubscribeMsgSentEvent></xml>`,
			[]SubscribeItem{sent("a", "1700827132819554304", 0)}, 0, ""},
		{"xml top List", `<xml><MsgId>7</MsgId><List><TemplateId>a</TemplateId><SubscribeStatusString>accept</SubscribeStatusString></List></xml>`,
			[]SubscribeItem{it("a", "accept")}, 0, "7"},
	}
	for _, tt := range tests {
		var m Message
		if err := Decode([]byte(tt.body), &m); err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if !reflect.DeepEqual(m.Items, tt.want) || m.CreateTime != tt.ct || m.MsgID != tt.msgID {
			t.Errorf("%s: got %+v ct=%d id=%q", tt.name, m.Items, m.CreateTime, m.MsgID)
		}
	}
}
