package codec

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/goccy/go-json"
)

// The seed corpora live in testdata/fuzz/<Target>/; the f.Add calls below
// add the sample bodies, so a corpus file is only needed for inputs the
// fuzzer found.

// FuzzDecodeXML checks the scanner against encoding/xml.
//
// The scanner must never panic nor loop, whatever the input. Where both
// decoders accept an input, they must agree on every field both read,
// except on inputs outside the subset they are meant to agree on:
//   - element names with a namespace prefix (encoding/xml matches fields by
//     local name; the scanner, like WeChat, knows no namespaces);
//   - a message id spelled both MsgID and MsgId in one element (the scanner
//     keeps the last one, the struct keeps both).
//
// The scanner drops white space alone next to a CDATA section (the
// indentation of a pretty-printed push), which encoding/xml keeps: the
// oracle reads the body with that white space cut out
// (trimSpaceNextToCDATA).
//
// The scanner trims XML white space around message ids and requires digits,
// so the ids are compared after trimming. When items come from more than
// one container the struct cannot tell their order, so they are compared as
// multisets.
func FuzzDecodeXML(f *testing.F) {
	for _, name := range testdataFiles(f, ".xml") {
		f.Add(readTestdata(f, name))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		compareWithEncodingXML(t, body)
	})
}

// compareWithEncodingXML runs FuzzDecodeXML's checks on body and reports
// whether both decoders accepted it, so that the fields were compared.
func compareWithEncodingXML(t *testing.T, body []byte) bool {
	t.Helper()
	// Fields must not panic on any input, whatever it returns.
	if _, err := Fields(&Message{Raw: string(body), Format: XML}); err != nil && !errors.Is(err, ErrMalformed) {
		t.Fatalf("Fields error does not wrap ErrMalformed: %v", err)
	}
	var m Message
	err := DecodeXML(body, &m)
	if err != nil {
		if !errors.Is(err, ErrMalformed) {
			t.Fatalf("error does not wrap ErrMalformed: %v", err)
		}
		return false
	}
	if m.Raw != string(body) || m.Format != XML {
		t.Fatalf("Raw/Format not set: %v", m.Format)
	}
	if _, err := Fields(&m); err != nil {
		t.Fatalf("Decode accepts what Fields rejects: %v", err)
	}
	var std stdXMLMessage
	if xml.Unmarshal(trimSpaceNextToCDATA(body), &std) != nil || hasNamespacePrefix(body) {
		return false
	}
	want, ok := std.message()
	if !ok {
		return false
	}
	got := m
	got.Raw, got.Format = "", 0
	if len(sourcesOf(&std)) > 1 {
		sortItems(got.Items)
		sortItems(want.Items)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("scanner and encoding/xml disagree on %q:\nscanner      %#v\nencoding/xml %#v", body, got, want)
	}
	return true
}

// TestAgreesWithEncodingXML runs the differential check on bodies both
// decoders must accept, so that it is known to compare something.
func TestAgreesWithEncodingXML(t *testing.T) {
	bodies := []string{
		"<xml><Content>a&#13;&#10;b &#x4f60; &lt;&amp;&gt;</Content></xml>",
		"<xml><Content>x\r\ny\rz</Content><ToUserName><![CDATA[a\r\n]]><![CDATA[b]]></ToUserName></xml>",
		"<?xml version=\"1.0\"?><!-- c --><xml a=\"1\"><Content>a<!--x-->b<?p?>c<n>skip</n>d</Content></xml>",
		"<xml><MsgId> 12 </MsgId><CreateTime> -3 </CreateTime><List><MsgID>\n7\n</MsgID></List></xml>",
		"<xml><SubscribeMsgSentEvent><List><ErrorCode>1</ErrorCode></List></SubscribeMsgSentEvent><List><ErrorCode>2</ErrorCode></List>" +
			"<SubscribeMsgPopupEvent><List><PopupScene>3</PopupScene></List></SubscribeMsgPopupEvent></xml>",
		"<xml><ToUserName/><List/><Unknown><a><b/></a></Unknown></xml>",
		// White space alone next to CDATA is indentation (see text).
		"<xml>\n  <ToUserName>\n    <![CDATA[gh_1]]>\n  </ToUserName>\n  <List>\n    <TemplateId>\r\n\t<![CDATA[T1]]><!-- c -->\n    </TemplateId>\n  </List>\n</xml>",
		"<xml><Content> a <![CDATA[b]]>\n<![CDATA[ c ]]> d &amp; </Content><Title><![CDATA[x]]><n/> </Title></xml>",
		"<xml><Event><![CDATA[\n ]]>\n</Event><MsgType>\n<?pi?><![CDATA[event]]>\n</MsgType></xml>",
	}
	for _, name := range testdataFiles(t, ".xml") {
		bodies = append(bodies, string(readTestdata(t, name)))
	}
	for _, body := range bodies {
		if !compareWithEncodingXML(t, []byte(body)) {
			t.Errorf("not compared: %q", body)
		}
	}
}

// message converts what encoding/xml read to a Message, or reports that
// the input is outside the subset compared.
func (s *stdXMLMessage) message() (Message, bool) {
	id, ok := stdID(s.MsgID, s.MsgId)
	if !ok {
		return Message{}, false
	}
	m := Message{
		ToUserName: s.ToUserName, FromUserName: s.FromUserName, CreateTime: s.CreateTime,
		MsgType: s.MsgType, Event: s.Event, MsgID: id, Content: s.Content, PicURL: s.PicURL,
		MediaID: s.MediaID, Title: s.Title, AppID: s.AppID, PagePath: s.PagePath,
		ThumbURL: s.ThumbURL, ThumbMediaID: s.ThumbMediaID, SessionFrom: s.SessionFrom, Encrypt: s.Encrypt,
	}
	for _, src := range [][]stdXMLItem{s.Popup, s.Change, s.Sent, s.List} {
		for _, it := range src {
			id, ok := stdID(it.MsgID, it.MsgId)
			if !ok {
				return Message{}, false
			}
			item := SubscribeItem{
				TemplateID: it.TemplateID, Status: it.Status, PopupScene: it.PopupScene,
				MsgID: id, ErrorCode: it.ErrorCode, ErrorStatus: it.ErrorStatus,
			}
			if item != (SubscribeItem{}) { // the scanner leaves empty items out
				m.Items = append(m.Items, item)
			}
		}
	}
	return m, true
}

// stdID picks the id encoding/xml read under either spelling, trimmed as
// the scanner trims it; ok is false when both spellings occurred.
func stdID(upper, lower string) (string, bool) {
	if upper != "" && lower != "" {
		return "", false
	}
	return trimXMLSpace(upper + lower), true
}

func sourcesOf(s *stdXMLMessage) [][]stdXMLItem {
	var srcs [][]stdXMLItem
	for _, src := range [][]stdXMLItem{s.Popup, s.Change, s.Sent, s.List} {
		if len(src) > 0 {
			srcs = append(srcs, src)
		}
	}
	return srcs
}

func sortItems(items []SubscribeItem) {
	slices.SortFunc(items, func(a, b SubscribeItem) int {
		return strings.Compare(fmt.Sprintf("%#v", a), fmt.Sprintf("%#v", b))
	})
}

// hasNamespacePrefix reports whether any element of body has a prefixed
// name, as encoding/xml's raw tokens show it.
func hasNamespacePrefix(body []byte) bool {
	d := xml.NewDecoder(bytes.NewReader(body))
	for {
		tok, err := d.RawToken()
		if err == io.EOF {
			return false
		}
		if err != nil {
			return true // not comparable: leave it out
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if t.Name.Space != "" {
				return true
			}
		case xml.EndElement:
			if t.Name.Space != "" {
				return true
			}
		}
	}
}

// FuzzDecodeJSON checks that the JSON decoder never panics and that what
// it accepts is stable: the message, encoded again in the plainest shape
// (numbers as numbers, items in a top-level List array), decodes to the
// same message. The general path must agree with the fast one, and Fields
// must accept whatever Decode accepts.
func FuzzDecodeJSON(f *testing.F) {
	for _, name := range testdataFiles(f, ".json") {
		f.Add(readTestdata(f, name))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		if _, err := Fields(&Message{Raw: string(body), Format: JSON}); err != nil && !errors.Is(err, ErrMalformed) {
			t.Fatalf("Fields error does not wrap ErrMalformed: %v", err)
		}
		var m Message
		if err := DecodeJSON(body, &m); err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error does not wrap ErrMalformed: %v", err)
			}
			return
		}
		if _, err := Fields(&m); err != nil {
			t.Fatalf("Decode accepts what Fields rejects: %v", err)
		}
		general := Message{Raw: string(body), Format: JSON}
		if err := decodeJSONGeneral(body, &general); err != nil || !reflect.DeepEqual(general, m) {
			t.Fatalf("general path disagrees (%v):\nDecode  %#v\ngeneral %#v", err, m, general)
		}
		again, err := json.Marshal(canonicalJSON(&m))
		if err != nil {
			t.Fatal(err)
		}
		var m2 Message
		if err := DecodeJSON(again, &m2); err != nil {
			t.Fatalf("re-encoded message does not decode: %v\n%s", err, again)
		}
		m.Raw, m2.Raw = "", ""
		if !reflect.DeepEqual(m, m2) {
			t.Fatalf("unstable:\nfirst  %#v\nsecond %#v", m, m2)
		}
	})
}

// canonicalJSON is m in the plainest of the shapes DecodeJSON takes.
func canonicalJSON(m *Message) map[string]any {
	v := map[string]any{
		"ToUserName": m.ToUserName, "FromUserName": m.FromUserName, "CreateTime": m.CreateTime,
		"MsgType": m.MsgType, "Event": m.Event, "MsgId": m.MsgID, "Content": m.Content,
		"PicUrl": m.PicURL, "MediaId": m.MediaID, "Title": m.Title, "AppId": m.AppID,
		"PagePath": m.PagePath, "ThumbUrl": m.ThumbURL, "ThumbMediaId": m.ThumbMediaID,
		"SessionFrom": m.SessionFrom, "Encrypt": m.Encrypt,
	}
	if len(m.Items) > 0 {
		items := make([]map[string]any, len(m.Items))
		for i, it := range m.Items {
			items[i] = map[string]any{
				"TemplateId": it.TemplateID, "SubscribeStatusString": it.Status, "PopupScene": it.PopupScene,
				"MsgID": it.MsgID, "ErrorCode": it.ErrorCode, "ErrorStatus": it.ErrorStatus,
			}
		}
		v["List"] = items
	}
	return v
}

// FuzzDecrypt checks that Decrypt never panics, and that whatever it
// accepts round-trips: the prefix and message it found encrypt again to a
// ciphertext that decrypts to them, and to the input itself when the input
// was canonical (standard base64, padded to 32 bytes as WeChat pads).
func FuzzDecrypt(f *testing.F) {
	c, err := NewCipher(keyV3, appV3)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(encV3)
	f.Add(encV4)
	f.Add(c.EncryptWithPrefix(prefixOf("0123456789abcdef"), nil))
	f.Add("")
	f.Fuzz(func(t *testing.T, ciphertext string) {
		prefix, msg, err := c.open(ciphertext)
		if err != nil {
			for _, sentinel := range []error{ErrBadCiphertext, ErrBadPadding, ErrBadLength, ErrAppIDMismatch} {
				if errors.Is(err, sentinel) {
					return
				}
			}
			t.Fatalf("error wraps no sentinel: %v", err)
		}
		again := c.EncryptWithPrefix(prefix, msg)
		prefix2, msg2, err := c.open(again)
		if err != nil || prefix2 != prefix || !bytes.Equal(msg2, msg) {
			t.Fatalf("round trip failed: %v", err)
		}
		raw, _ := base64.StdEncoding.DecodeString(ciphertext)
		canonical := base64.StdEncoding.EncodeToString(raw) == ciphertext &&
			len(raw) == len(base64Decode(again))
		if canonical && again != ciphertext {
			t.Fatalf("canonical input %q re-encrypts to %q", ciphertext, again)
		}
	})
}

func base64Decode(s string) []byte {
	b, _ := base64.StdEncoding.DecodeString(s)
	return b
}

// FuzzEncryptDecrypt checks Encrypt's inverse on arbitrary messages and
// prefixes.
func FuzzEncryptDecrypt(f *testing.F) {
	c, err := NewCipher(keyV3, appV3)
	if err != nil {
		f.Fatal(err)
	}
	f.Add([]byte("707722b803182950"), []byte(`{"demo_resp":"good luck"}`))
	f.Add([]byte{}, []byte{})
	f.Fuzz(func(t *testing.T, p, msg []byte) {
		var prefix [16]byte
		copy(prefix[:], p)
		enc := c.EncryptWithPrefix(prefix, msg)
		gotPrefix, got, err := c.open(enc)
		if err != nil || gotPrefix != prefix || !bytes.Equal(got, msg) {
			t.Fatalf("round trip of %q: %q, %v", msg, got, err)
		}
	})
}

// testdataFiles lists the sample bodies with the given extension.
func testdataFiles(tb testing.TB, ext string) []string {
	tb.Helper()
	var names []string
	for name := range decodeCases {
		if strings.HasSuffix(name, ext) {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	if len(names) == 0 {
		tb.Fatalf("no %s samples", ext)
	}
	return names
}

// trimSpaceNextToCDATA returns body without the runs of white space alone
// that the scanner drops as indentation: those right before a CDATA
// section, and those right after one (comments and processing
// instructions in between aside) before any element tag. It reads the
// tokens of encoding/xml and cuts the raw bytes of the runs it drops, so
// that encoding/xml, given the result, reads what the scanner reads. A
// body encoding/xml cannot tokenize is returned as it is.
func trimSpaceNextToCDATA(body []byte) []byte {
	type token struct {
		start, end int
		kind       byte // 'c' CDATA, 's' white space alone, 't' other text, 'm' comment or PI, 'e' element tag
	}
	var toks []token
	dec := xml.NewDecoder(bytes.NewReader(body))
	for {
		start := int(dec.InputOffset())
		tok, err := dec.RawToken()
		if err == io.EOF {
			break
		}
		if err != nil {
			return body
		}
		end := int(dec.InputOffset())
		k := byte('e')
		switch tok.(type) {
		case xml.CharData:
			switch {
			case bytes.HasPrefix(body[start:end], []byte("<![CDATA[")):
				k = 'c'
			case len(bytes.Trim(body[start:end], " \t\r\n")) == 0:
				k = 's'
			default:
				k = 't'
			}
		case xml.Comment, xml.ProcInst, xml.Directive:
			k = 'm'
		}
		toks = append(toks, token{start, end, k})
	}
	out := make([]byte, 0, len(body))
	afterCDATA := false
	for i, tk := range toks {
		drop := tk.kind == 's' && (afterCDATA || i+1 < len(toks) && toks[i+1].kind == 'c')
		switch tk.kind {
		case 'c':
			afterCDATA = true
		case 't', 'e':
			afterCDATA = false
		}
		if !drop {
			out = append(out, body[tk.start:tk.end]...)
		}
	}
	return out
}
