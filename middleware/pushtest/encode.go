package pushtest

import (
	"strconv"
	"strings"

	"github.com/goccy/go-json"

	"github.com/wxsub/wxsub/codec"
)

// Encode renders m as WeChat sends it: flat XML with CDATA, or JSON with the
// event items under a top-level "List" array (the current format). Fields
// that are empty in m are left out. A set m.Encrypt is written as well, so
// an envelope or a compatible-mode body can be built from a Message.
func Encode(f codec.Format, m *codec.Message) []byte {
	if f == codec.JSON {
		return encodeJSON(m)
	}
	return encodeXML(m)
}

// field is one named value of a push, in WeChat's element order.
type field struct {
	name, value string
	number      bool
}

func fieldsOf(m *codec.Message) []field {
	fs := []field{
		{"ToUserName", m.ToUserName, false},
		{"FromUserName", m.FromUserName, false},
		{"CreateTime", strconv.FormatInt(m.CreateTime, 10), true},
		{"MsgType", m.MsgType, false},
		{"Event", m.Event, false},
		{"Content", m.Content, false},
		{"PicUrl", m.PicURL, false},
		{"MediaId", m.MediaID, false},
		{"Title", m.Title, false},
		{"AppId", m.AppID, false},
		{"PagePath", m.PagePath, false},
		{"ThumbUrl", m.ThumbURL, false},
		{"ThumbMediaId", m.ThumbMediaID, false},
		{"SessionFrom", m.SessionFrom, false},
		{"MsgId", m.MsgID, isDigits(m.MsgID)},
		{"Encrypt", m.Encrypt, false},
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
			{"TemplateId", it.TemplateID, false},
			{"SubscribeStatusString", it.Status, false},
			{"PopupScene", strconv.FormatInt(it.PopupScene, 10), true},
		}
	case codec.EventSubscribeSent:
		return []field{
			{"TemplateId", it.TemplateID, false},
			{"MsgID", it.MsgID, false},
			{"ErrorCode", strconv.FormatInt(it.ErrorCode, 10), true},
			{"ErrorStatus", it.ErrorStatus, false},
		}
	}
	return []field{
		{"TemplateId", it.TemplateID, false},
		{"SubscribeStatusString", it.Status, false},
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
	if f.number {
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

func encodeJSON(m *codec.Message) []byte {
	var b []byte
	b = append(b, '{')
	first := true
	for _, f := range fieldsOf(m) {
		b = appendJSONField(b, f, &first)
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
				b = appendJSONField(b, f, &itemFirst)
			}
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	return append(b, '}')
}

func appendJSONField(b []byte, f field, first *bool) []byte {
	if f.value == "" {
		return b
	}
	if !*first {
		b = append(b, ',')
	}
	*first = false
	name, _ := json.Marshal(f.name)
	b = append(append(b, name...), ':')
	if f.number {
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
