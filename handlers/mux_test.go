package handlers

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/wxsub/wxsub/codec"
)

func TestRegisterNilHook(t *testing.T) {
	m := NewMux()
	tests := []struct {
		name string
		reg  func()
	}{
		{"OnSubscribePopup", func() { m.OnSubscribePopup(nil) }},
		{"OnSubscribeChange", func() { m.OnSubscribeChange(nil) }},
		{"OnSubscribeSent", func() { m.OnSubscribeSent(nil) }},
		{"OnText", func() { m.OnText(nil) }},
		{"OnImage", func() { m.OnImage(nil) }},
		{"OnMiniProgramPage", func() { m.OnMiniProgramPage(nil) }},
		{"OnEnterSession", func() { m.OnEnterSession(nil) }},
		{"OnUnknown", func() { m.OnUnknown(nil) }},
	}
	for _, tt := range tests {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s(nil) did not panic", tt.name)
				}
			}()
			tt.reg()
		}()
	}
	if got := m.Handles(&codec.Message{MsgType: "text"}); got {
		t.Errorf("after nil registrations Handles = true, want false")
	}
}

func TestKindOf(t *testing.T) {
	tests := []struct {
		msgType, event string
		want           Kind
		name           string
	}{
		{"event", "subscribe_msg_popup_event", KindSubscribePopup, "subscribe_msg_popup_event"},
		{"event", "subscribe_msg_change_event", KindSubscribeChange, "subscribe_msg_change_event"},
		{"event", "subscribe_msg_sent_event", KindSubscribeSent, "subscribe_msg_sent_event"},
		{"event", "user_enter_tempsession", KindEnterSession, "user_enter_tempsession"},
		{"text", "", KindText, "text"},
		{"image", "", KindImage, "image"},
		{"miniprogrampage", "", KindMiniProgramPage, "miniprogrampage"},
		{"event", "debug_demo", KindUnknown, "unknown"},
		{"voice", "", KindUnknown, "unknown"},
		{"", "", KindUnknown, "unknown"},
		{"text", "subscribe_msg_popup_event", KindText, "text"},
	}
	for _, tt := range tests {
		got := KindOf(&codec.Message{MsgType: tt.msgType, Event: tt.event})
		if got != tt.want || got.String() != tt.name {
			t.Errorf("KindOf(%q, %q) = %v (%s), want %v (%s)", tt.msgType, tt.event, got, got, tt.want, tt.name)
		}
	}
	if got := Kind(200).String(); got != "unknown" {
		t.Errorf("Kind(200).String() = %q, want unknown", got)
	}
}

// TestDispatchTypedEvents runs one push of each kind through a Mux with a
// hook per kind that records the event it got.
func TestDispatchTypedEvents(t *testing.T) {
	base := codec.Message{ToUserName: "gh_97417a04a28d", FromUserName: "o9AgO5Kd5ggOC-bXrbNODIiE3bGY", CreateTime: 1714037059}
	with := func(f func(m *codec.Message)) *codec.Message {
		m := base
		f(&m)
		return &m
	}
	popup := with(func(m *codec.Message) {
		m.MsgType, m.Event = "event", "subscribe_msg_popup_event"
		m.Items = []codec.SubscribeItem{
			{TemplateID: "T1", Status: "accept", PopupScene: 0},
			{TemplateID: "T2", Status: "reject", PopupScene: 2},
		}
	})
	change := with(func(m *codec.Message) {
		m.MsgType, m.Event = "event", "subscribe_msg_change_event"
		m.Items = []codec.SubscribeItem{{TemplateID: "T3", Status: "reject"}}
	})
	sent := with(func(m *codec.Message) {
		m.MsgType, m.Event = "event", "subscribe_msg_sent_event"
		m.Items = []codec.SubscribeItem{
			{TemplateID: "T4", MsgID: "1864323726461255680", ErrorCode: 0, ErrorStatus: "success"},
			{TemplateID: "T5", MsgID: "2", ErrorCode: 10002, ErrorStatus: "fail"},
			{TemplateID: "T6", MsgID: "3"}, {TemplateID: "T7", MsgID: "4"},
		}
	})
	text := with(func(m *codec.Message) { m.MsgType, m.MsgID, m.Content = "text", "49871624", "hello" })
	image := with(func(m *codec.Message) {
		m.MsgType, m.MsgID, m.PicURL, m.MediaID = "image", "5", "https://example.com/p.png", "media-1"
	})
	page := with(func(m *codec.Message) {
		m.MsgType, m.MsgID, m.Title, m.AppID, m.PagePath, m.ThumbURL, m.ThumbMediaID =
			"miniprogrampage", "6", "Title", "wxba5fad812f8e6fb9", "pages/index", "https://example.com/t.png", "thumb-1"
	})
	enter := with(func(m *codec.Message) {
		m.MsgType, m.Event, m.SessionFrom = "event", "user_enter_tempsession", "from-button"
	})

	var got any
	m := NewMux()
	m.OnSubscribePopup(func(_ context.Context, ev *SubscribePopupEvent) error { got = ev; return nil })
	m.OnSubscribeChange(func(_ context.Context, ev *SubscribeChangeEvent) error { got = ev; return nil })
	m.OnSubscribeSent(func(_ context.Context, ev *SubscribeSentEvent) error { got = ev; return nil })
	m.OnText(func(_ context.Context, ev *TextMessage) error { got = ev; return nil })
	m.OnImage(func(_ context.Context, ev *ImageMessage) error { got = ev; return nil })
	m.OnMiniProgramPage(func(_ context.Context, ev *MiniProgramPageMessage) error { got = ev; return nil })
	m.OnEnterSession(func(_ context.Context, ev *EnterSessionEvent) error { got = ev; return nil })

	hdr := func(msg *codec.Message) Header {
		return Header{ToUserName: msg.ToUserName, FromUserName: msg.FromUserName, CreateTime: msg.CreateTime,
			MsgType: msg.MsgType, Event: msg.Event, Message: msg}
	}
	tests := []struct {
		name string
		msg  *codec.Message
		want any
	}{
		{"popup", popup, &SubscribePopupEvent{Header: hdr(popup), Items: []PopupItem{
			{TemplateID: "T1", Status: "accept"}, {TemplateID: "T2", Status: "reject", PopupScene: 2}}}},
		{"change", change, &SubscribeChangeEvent{Header: hdr(change), Items: []ChangeItem{{TemplateID: "T3", Status: "reject"}}}},
		{"sent", sent, &SubscribeSentEvent{Header: hdr(sent), Items: []SentItem{
			{TemplateID: "T4", MsgID: "1864323726461255680", ErrorStatus: "success"},
			{TemplateID: "T5", MsgID: "2", ErrorCode: 10002, ErrorStatus: "fail"},
			{TemplateID: "T6", MsgID: "3"}, {TemplateID: "T7", MsgID: "4"}}}},
		{"text", text, &TextMessage{Session: Session{Header: hdr(text)}, MsgID: "49871624", Content: "hello"}},
		{"image", image, &ImageMessage{Session: Session{Header: hdr(image)}, MsgID: "5", PicURL: "https://example.com/p.png", MediaID: "media-1"}},
		{"page", page, &MiniProgramPageMessage{Session: Session{Header: hdr(page)}, MsgID: "6", Title: "Title",
			AppID: "wxba5fad812f8e6fb9", PagePath: "pages/index", ThumbURL: "https://example.com/t.png", ThumbMediaID: "thumb-1"}},
		{"enter", enter, &EnterSessionEvent{Session: Session{Header: hdr(enter)}, SessionFrom: "from-button"}},
	}
	for _, tt := range tests {
		got = nil
		if !m.Handles(tt.msg) {
			t.Errorf("%s: Handles = false, want true", tt.name)
		}
		reply, err := m.Dispatch(context.Background(), tt.msg)
		if err != nil || reply != nil {
			t.Errorf("%s: Dispatch = %v, %v; want nil, nil", tt.name, reply, err)
		}
		if !eventsEqual(got, tt.want) {
			t.Errorf("%s: hook got\n%#v\nwant\n%#v", tt.name, got, tt.want)
		}
	}
}

// eventsEqual compares events ignoring the unexported inline item arrays.
func eventsEqual(a, b any) bool {
	switch x := a.(type) {
	case *SubscribePopupEvent:
		y, ok := b.(*SubscribePopupEvent)
		return ok && x.Header == y.Header && reflect.DeepEqual(x.Items, y.Items)
	case *SubscribeChangeEvent:
		y, ok := b.(*SubscribeChangeEvent)
		return ok && x.Header == y.Header && reflect.DeepEqual(x.Items, y.Items)
	case *SubscribeSentEvent:
		y, ok := b.(*SubscribeSentEvent)
		return ok && x.Header == y.Header && reflect.DeepEqual(x.Items, y.Items)
	}
	return reflect.DeepEqual(a, b)
}

func mustOK(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestDispatchOrderAndFirstError(t *testing.T) {
	errBoom := errors.New("boom")
	var order []int
	m := NewMux()
	for i := range 3 {
		m.OnText(func(context.Context, *TextMessage) error {
			order = append(order, i)
			if i == 1 {
				return errBoom
			}
			return nil
		})
	}
	msg := &codec.Message{MsgType: "text", Content: "x"}
	reply, err := m.Dispatch(context.Background(), msg)
	if reply != nil {
		t.Errorf("reply = %v, want nil", reply)
	}
	if !errors.Is(err, errBoom) {
		t.Fatalf("err = %v, want errBoom", err)
	}
	var he *HookError
	if !errors.As(err, &he) || he.Kind != KindText || he.Index != 1 {
		t.Fatalf("err = %#v, want HookError{KindText, 1}", err)
	}
	if got, want := err.Error(), "wxsub/handlers: text hook #1: boom"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if !reflect.DeepEqual(order, []int{0, 1}) {
		t.Errorf("hooks ran %v, want [0 1]", order)
	}
}

func TestDispatchPassesContext(t *testing.T) {
	type key struct{}
	ctx := context.WithValue(context.Background(), key{}, "v")
	var got any
	m := NewMux()
	m.OnSubscribeSent(func(ctx context.Context, _ *SubscribeSentEvent) error {
		got = ctx.Value(key{})
		return nil
	})
	if _, err := m.Dispatch(ctx, &codec.Message{MsgType: "event", Event: "subscribe_msg_sent_event"}); err != nil {
		t.Fatal(err)
	}
	if got != "v" {
		t.Errorf("hook saw value %v, want v", got)
	}
}

func TestDispatchWithoutHooks(t *testing.T) {
	var zero Mux
	for _, msg := range []*codec.Message{
		{MsgType: "text"}, {MsgType: "event", Event: "subscribe_msg_popup_event"}, {MsgType: "voice"},
	} {
		if zero.Handles(msg) {
			t.Errorf("zero Mux Handles(%q) = true", msg.MsgType)
		}
		reply, err := zero.Dispatch(context.Background(), msg)
		if reply != nil || err != nil {
			t.Errorf("zero Mux Dispatch(%q) = %v, %v; want nil, nil", msg.MsgType, reply, err)
		}
	}
}

func TestDispatchUnknown(t *testing.T) {
	raw := `<xml><ToUserName><![CDATA[gh_97417a04a28d]]></ToUserName><FromUserName><![CDATA[oUser]]></FromUserName>` +
		`<CreateTime>1714037059</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[debug_demo]]></Event>` +
		`<debug_str><![CDATA[hello world]]></debug_str></xml>`
	var msg codec.Message
	if err := codec.Decode([]byte(raw), &msg); err != nil {
		t.Fatal(err)
	}
	var got *UnknownMessage
	m := NewMux()
	m.OnText(func(context.Context, *TextMessage) error {
		t.Error("text hook ran for an unknown event")
		return nil
	})
	m.OnUnknown(func(_ context.Context, ev *UnknownMessage) error { got = ev; return nil })
	if !m.Handles(&msg) {
		t.Error("Handles(unknown) = false with an OnUnknown hook")
	}
	if _, err := m.Dispatch(context.Background(), &msg); err != nil {
		t.Fatal(err)
	}
	if got == nil {
		t.Fatal("OnUnknown hook did not run")
	}
	want := Header{ToUserName: "gh_97417a04a28d", FromUserName: "oUser", CreateTime: 1714037059,
		MsgType: "event", Event: "debug_demo", Message: &msg}
	if got.Header != want {
		t.Errorf("Header = %#v, want %#v", got.Header, want)
	}
	if got.Fields["debug_str"] != "hello world" || got.Fields["Event"] != "debug_demo" {
		t.Errorf("Fields = %v, want debug_str=hello world and Event=debug_demo", got.Fields)
	}
	// A known kind without typed hooks does not go to OnUnknown.
	if _, err := m.Dispatch(context.Background(), &codec.Message{MsgType: "image"}); err != nil {
		t.Fatal(err)
	}
}

func TestSessionReply(t *testing.T) {
	msg := &codec.Message{ToUserName: "gh_app", FromUserName: "oUser", CreateTime: 1, MsgType: "text", MsgID: "7", Content: "人工"}
	tests := []struct {
		name  string
		hooks []func(context.Context, *TextMessage) error
		want  *codec.Reply
		err   bool
	}{
		{"none", []func(context.Context, *TextMessage) error{
			func(context.Context, *TextMessage) error { return nil },
		}, nil, false},
		{"transfer", []func(context.Context, *TextMessage) error{
			func(_ context.Context, m *TextMessage) error { m.TransferToCustomerService(); return nil },
		}, &codec.Reply{ToUserName: "oUser", FromUserName: "gh_app", MsgType: "transfer_customer_service"}, false},
		{"last wins", []func(context.Context, *TextMessage) error{
			func(_ context.Context, m *TextMessage) error { m.TransferToCustomerService(); return nil },
			func(_ context.Context, m *TextMessage) error {
				m.SetReply(codec.Reply{ToUserName: "a", FromUserName: "b", CreateTime: 9, MsgType: "c"})
				return nil
			},
		}, &codec.Reply{ToUserName: "a", FromUserName: "b", CreateTime: 9, MsgType: "c"}, false},
		{"error drops reply", []func(context.Context, *TextMessage) error{
			func(_ context.Context, m *TextMessage) error { m.TransferToCustomerService(); return nil },
			func(context.Context, *TextMessage) error { return errors.New("x") },
		}, nil, true},
	}
	for _, tt := range tests {
		m := NewMux()
		for _, h := range tt.hooks {
			m.OnText(h)
		}
		reply, err := m.Dispatch(context.Background(), msg)
		if (err != nil) != tt.err {
			t.Errorf("%s: err = %v, want error %v", tt.name, err, tt.err)
		}
		if !reflect.DeepEqual(reply, tt.want) {
			t.Errorf("%s: reply = %#v, want %#v", tt.name, reply, tt.want)
		}
	}
}

func TestSessionReplyOtherKinds(t *testing.T) {
	m := NewMux()
	transfer := func(s *Session) error { s.TransferToCustomerService(); return nil }
	m.OnImage(func(_ context.Context, ev *ImageMessage) error { return transfer(&ev.Session) })
	m.OnMiniProgramPage(func(_ context.Context, ev *MiniProgramPageMessage) error { return transfer(&ev.Session) })
	m.OnEnterSession(func(_ context.Context, ev *EnterSessionEvent) error { return transfer(&ev.Session) })
	want := &codec.Reply{ToUserName: "oUser", FromUserName: "gh_app", MsgType: "transfer_customer_service"}
	for _, msg := range []*codec.Message{
		{ToUserName: "gh_app", FromUserName: "oUser", MsgType: "image"},
		{ToUserName: "gh_app", FromUserName: "oUser", MsgType: "miniprogrampage"},
		{ToUserName: "gh_app", FromUserName: "oUser", MsgType: "event", Event: "user_enter_tempsession"},
	} {
		reply, err := m.Dispatch(context.Background(), msg)
		if err != nil || !reflect.DeepEqual(reply, want) {
			t.Errorf("%s/%s: Dispatch = %#v, %v; want %#v", msg.MsgType, msg.Event, reply, err, want)
		}
	}
	var s Session
	if r, ok := s.Reply(); ok || r != (codec.Reply{}) {
		t.Errorf("zero Session Reply() = %v, %v; want zero, false", r, ok)
	}
}

func TestItemPredicates(t *testing.T) {
	for _, tt := range []struct {
		status string
		want   bool
	}{{"accept", true}, {"acceptWithAudio", true}, {"reject", false}, {"ban", false}, {"filter", false}, {"", false}} {
		if got := (PopupItem{Status: tt.status}).Accepted(); got != tt.want {
			t.Errorf("PopupItem{%q}.Accepted() = %v, want %v", tt.status, got, tt.want)
		}
	}
	if !(ChangeItem{Status: "reject"}).Rejected() || (ChangeItem{Status: "accept"}).Rejected() {
		t.Error("ChangeItem.Rejected is wrong")
	}
	if !(SentItem{}).Delivered() || (SentItem{ErrorCode: 10002}).Delivered() {
		t.Error("SentItem.Delivered is wrong")
	}
	h := Header{CreateTime: 1714037059}
	if got := h.Time().Unix(); got != 1714037059 {
		t.Errorf("Time().Unix() = %d", got)
	}
}

func TestDispatchAllocs(t *testing.T) {
	msg := &codec.Message{MsgType: "event", Event: "subscribe_msg_popup_event", FromUserName: "oUser",
		Items: []codec.SubscribeItem{{TemplateID: "T1", Status: "accept"}, {TemplateID: "T2", Status: "accept"}}}
	m := NewMux()
	m.OnSubscribePopup(func(context.Context, *SubscribePopupEvent) error { return nil })
	ctx := context.Background()
	allocs := testing.AllocsPerRun(100, func() { _, _ = m.Dispatch(ctx, msg) })
	if allocs > 1 {
		t.Errorf("Dispatch of a two-item popup allocates %v times, want at most 1", allocs)
	}
}
