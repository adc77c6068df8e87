package codec

import (
	"errors"
	"reflect"
	"testing"
)

// A repeated popup key whose last value is null (or [null]) once decoded to
// the first array's items on the fast path, and to none on the general path
// (the last value wins, as in encoding/json). Which path runs depends on an
// unrelated field: a '{' inside the Content string sends the body to the
// general path. The items of a push must not depend on it. Found by review.
func TestJSONRepeatedPopupKeyLastValueWins(t *testing.T) {
	for _, last := range []string{`null`, `[null]`} {
		body := `{"MsgType":"event","Event":"subscribe_msg_popup_event",` +
			`"SubscribeMsgPopupEvent":[{"TemplateId":"T1","SubscribeStatusString":"accept"}],` +
			`"SubscribeMsgPopupEvent":` + last
		var fast, general Message
		if err := DecodeJSON([]byte(body+`}`), &fast); err != nil {
			t.Fatal(err)
		}
		if err := DecodeJSON([]byte(body+`,"Content":"{"}`), &general); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(fast.Items, general.Items) {
			t.Errorf("last value %s: items depend on an unrelated field:\nwithout Content %+v\nwith Content \"{\" %+v",
				last, fast.Items, general.Items)
		}
	}
}

// A popup array element that is not an object is an error ("item is ...,
// not an object") wherever it is. Past the third element the fast path's
// fixed array once dropped it silently and accepted the body. Found by
// review.
func TestJSONPopupNonObjectPastThirdItem(t *testing.T) {
	for _, body := range []string{
		`{"SubscribeMsgPopupEvent":[{"TemplateId":"a"},1]}`,
		`{"SubscribeMsgPopupEvent":[{"TemplateId":"a"},{"TemplateId":"b"},{"TemplateId":"c"},1]}`,
		`{"SubscribeMsgPopupEvent":[{"TemplateId":"a"},{"TemplateId":"b"},{"TemplateId":"c"},"x"]}`,
		`{"SubscribeMsgPopupEvent":[{"TemplateId":"a"},{"TemplateId":"b"},{"TemplateId":"c"},[]]}`,
	} {
		var m Message
		if err := DecodeJSON([]byte(body), &m); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: got err %v, items %+v; want an error wrapping ErrMalformed", body, err, m.Items)
		}
	}
}

// A push of any other MsgType or Event must reach the handlers' fallback
// hook with its raw fields, never an error. A push of a kind this package
// does not know may carry a top-level List of something other than
// subscription items: it decodes with no items, and List stays readable
// through Fields.
// The subscription events, and a push naming no kind, still read List
// strictly. Found by review (such a push was refused as malformed).
func TestJSONOtherKindWithForeignList(t *testing.T) {
	for _, body := range []string{
		`{"ToUserName":"gh_x","FromUserName":"o_x","CreateTime":1714037059,"MsgType":"event","Event":"some_future_event","List":["a","b"]}`,
		`{"ToUserName":"gh_x","FromUserName":"o_x","CreateTime":1714037059,"MsgType":"event","Event":"some_future_event","List":"a,b"}`,
		`{"ToUserName":"gh_x","FromUserName":"o_x","CreateTime":1714037059,"MsgType":"video","List":[1,2],"Content":"{"}`,
	} {
		var m Message
		if err := Decode([]byte(body), &m); err != nil {
			t.Errorf("%s: %v; want the push decoded for the fallback hook", body, err)
			continue
		}
		if len(m.Items) != 0 {
			t.Errorf("%s: items %+v, want none", body, m.Items)
		}
		if f, err := Fields(&m); err != nil || f["List"] == "" {
			t.Errorf("%s: Fields = %v, %v; want List in it", body, f, err)
		}
	}
	// List holding items is read in any kind of push.
	var m Message
	body := `{"MsgType":"event","Event":"some_future_event","List":{"TemplateId":"T","SubscribeStatusString":"accept"}}`
	if err := Decode([]byte(body), &m); err != nil || len(m.Items) != 1 || m.Items[0].TemplateID != "T" {
		t.Errorf("%s: items %+v, err %v; want the one item", body, m.Items, err)
	}
	// The subscription events, and a push naming no kind, read List strictly.
	for _, body := range []string{
		`{"MsgType":"event","Event":"subscribe_msg_popup_event","List":"x"}`,
		`{"MsgType":"event","Event":"subscribe_msg_sent_event","List":[1],"Content":"{"}`,
		`{"MsgType":"event","List":"x"}`,
		`{"List":["x"]}`,
	} {
		if err := Decode([]byte(body), &m); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: err %v, want ErrMalformed", body, err)
		}
	}
}

func TestContainsNull(t *testing.T) {
	for s, want := range map[string]bool{
		`{}`: false, `{"a":null}`: true, `{"a":nul}`: false, `{"a":"null"}`: true, `{"ll":1}`: false,
		`{"a":nulll}`: true, `{"a":nu ll}`: false, `null`: true, `nul`: false, `{"List":[1],"a":null`: true,
	} {
		if got := containsNull([]byte(s)); got != want {
			t.Errorf("containsNull(%s) = %v, want %v", s, got, want)
		}
	}
}
