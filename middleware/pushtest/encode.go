package pushtest

import (
	"strconv"
	"strings"

	"github.com/goccy/go-json"

	"github.com/wxsub/wxsub/codec"
)

// Encode renders m as WeChat's documentation shows it: flat XML with
// CDATA, or JSON with the event items under a top-level "List" array (the
// current format). Fields that are empty in m are left out. A set
// m.Encrypt is written as well, so an envelope or a compatible-mode body
// can be built from a Message.
//
// In JSON, the numbers of a subscription event (CreateTime, PopupScene,
// ErrorCode) are strings, as in the event samples of
// https://developers.weixin.qq.com/miniprogram/dev/framework/open-ability/subscribe-message.html
// ("CreateTime":"1620963428", "PopupScene":"0", "ErrorCode":"0"); other
// pushes carry CreateTime as a number, as the customer-service samples
// do. WeChat sends the numeric form of the event fields too: EncodeNumeric
// writes it.
func Encode(f codec.Format, m *codec.Message) []byte {
	return encode(f, m, false)
}

// EncodeNumeric is Encode with every number of a JSON push written as a
// JSON number ("PopupScene":0), the other form WeChat sends, which a
// decoder should take as well. XML is the same as Encode's.
func EncodeNumeric(f codec.Format, m *codec.Message) []byte {
	return encode(f, m, true)
}

func encode(f codec.Format, m *codec.Message, numeric bool) []byte {
	if f == codec.JSON {
		return encodeJSON(m, numeric)
	}
	return encodeXML(m)
}

// field is one named value of a push, in WeChat's element order.
type field struct {
	name, value string
	kind        fieldKind
}

// fieldKind tells how a field's value is written.
type fieldKind uint8

const (
	text fieldKind = iota // a string: CDATA in XML, quoted in JSON
	// number is a number: bare in XML and in JSON.
	number
	// eventNumber is a number of a subscription event: bare in XML, a
	// string in documented JSON, bare in numeric JSON.
	eventNumber
)

// isSubscriptionEvent reports whether m is one of the subscription events,
// whose JSON samples carry their numbers as strings.
func isSubscriptionEvent(m *codec.Message) bool {
	switch m.Event {
	case codec.EventSubscribePopup, codec.EventSubscribeChange, codec.EventSubscribeSent:
		return true
	}
	return false
}

func fieldsOf(m *codec.Message) []field {
	createTime := number
	if isSubscriptionEvent(m) {
		createTime = eventNumber
	}
	fs := []field{
		{"ToUserName", m.ToUserName, text},
		{"FromUserName", m.FromUserName, text},
		{"CreateTime", strconv.FormatInt(m.CreateTime, 10), createTime},
		{"MsgType", m.MsgType, text},
		{"Event", m.Event, text},
		{"Content", m.Content, text},
		{"PicUrl", m.PicURL, text},
		{"MediaId", m.MediaID, text},
		{"Title", m.Title, text},
		{"AppId", m.AppID, text},
		{"PagePath", m.PagePath, text},
		{"ThumbUrl", m.ThumbURL, text},
		{"ThumbMediaId", m.ThumbMediaID, text},
		{"SessionFrom", m.SessionFrom, text},
		{"MsgId", m.MsgID, text},
		{"Encrypt", m.Encrypt, text},
	}
	if isDigits(m.MsgID) {
		fs[14].kind = number
	}
	if m.CreateTime == 0 {
		fs[2].value = ""
	}
	return fs
}

// itemFields lists one subscription item's fields for the event kind.
func itemFields(event string, it codec.SubscribeItem) []field {
	switch event {
	case codec.EventSubscribePopup:
		return []field{
			{"TemplateId", it.TemplateID, text},
			{"SubscribeStatusString", it.Status, text},
			{"PopupScene", strconv.FormatInt(it.PopupScene, 10), eventNumber},
		}
	case codec.EventSubscribeSent:
		return []field{
			{"TemplateId", it.TemplateID, text},
			{"MsgID", it.MsgID, text},
			{"ErrorCode", strconv.FormatInt(it.ErrorCode, 10), eventNumber},
			{"ErrorStatus", it.ErrorStatus, text},
		}
	}
	return []field{
		{"TemplateId", it.TemplateID, text},
		{"SubscribeStatusString", it.Status, text},
	}
}

// container is the XML element that holds the items of an event.
func container(event string) string {
	switch event {
	case codec.EventSubscribePopup:
		return "SubscribeMsgPopupEvent"
	case codec.EventSubscribeSent:
		return "SubscribeMsgSentEvent"
	}
	return "SubscribeMsgChangeEvent"
}

func encodeXML(m *codec.Message) []byte {
	var b strings.Builder
	b.WriteString("<xml>")
	for _, f := range fieldsOf(m) {
		writeXMLField(&b, f)
	}
	if len(m.Items) > 0 {
		c := container(m.Event)
		b.WriteString("<" + c + ">")
		for _, it := range m.Items {
			b.WriteString("<List>")
			for _, f := range itemFields(m.Event, it) {
				writeXMLField(&b, f)
			}
			b.WriteString("</List>")
		}
		b.WriteString("</" + c + ">")
	}
	b.WriteString("</xml>")
	return []byte(b.String())
}

func writeXMLField(b *strings.Builder, f field) {
	if f.value == "" {
		return
	}
	b.WriteString("<" + f.name + ">")
	if f.kind != text {
		b.WriteString(f.value)
	} else {
		// "]]>" cannot appear inside CDATA: close the section before its
		// ">" and open a new one.
		b.WriteString("<![CDATA[")
		b.WriteString(strings.ReplaceAll(f.value, "]]>", "]]]]><![CDATA[>"))
		b.WriteString("]]>")
	}
	b.WriteString("</" + f.name + ">")
}

func encodeJSON(m *codec.Message, numeric bool) []byte {
	var b []byte
	b = append(b, '{')
	first := true
	for _, f := range fieldsOf(m) {
		b = appendJSONField(b, f, numeric, &first)
	}
	if len(m.Items) > 0 {
		if !first {
			b = append(b, ',')
		}
		b = append(b, `"List":[`...)
		for i, it := range m.Items {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, '{')
			itemFirst := true
			for _, f := range itemFields(m.Event, it) {
				b = appendJSONField(b, f, numeric, &itemFirst)
			}
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	return append(b, '}')
}

func appendJSONField(b []byte, f field, numeric bool, first *bool) []byte {
	if f.value == "" {
		return b
	}
	if !*first {
		b = append(b, ',')
	}
	*first = false
	name, _ := json.Marshal(f.name)
	b = append(append(b, name...), ':')
	if f.kind == number || f.kind == eventNumber && numeric {
		return append(b, f.value...)
	}
	value, _ := json.Marshal(f.value)
	return append(b, value...)
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
