package handlers

import (
	"context"
	"fmt"

	"github.com/wxsub/wxsub/codec"
)

// Mux holds the hooks for each kind of push and dispatches pushes to them.
//
// Register every hook before the Mux serves its first push: registration
// is not synchronised with Dispatch, so that dispatching takes no lock.
// Dispatch itself is safe for concurrent use. The zero Mux is ready to use.
type Mux struct {
	popup   []func(context.Context, *SubscribePopupEvent) error
	change  []func(context.Context, *SubscribeChangeEvent) error
	sent    []func(context.Context, *SubscribeSentEvent) error
	text    []func(context.Context, *TextMessage) error
	image   []func(context.Context, *ImageMessage) error
	page    []func(context.Context, *MiniProgramPageMessage) error
	enter   []func(context.Context, *EnterSessionEvent) error
	unknown []func(context.Context, *UnknownMessage) error
}

// NewMux returns an empty Mux.
func NewMux() *Mux { return new(Mux) }

// add appends h to list. A nil hook is a programming mistake, caught at
// registration as http.Handle catches a nil handler: it panics.
func add[E any](list *[]func(context.Context, *E) error, h func(context.Context, *E) error) {
	if h == nil {
		panic("wxsub/handlers: nil hook")
	}
	*list = append(*list, h)
}

// OnSubscribePopup adds a hook for subscribe_msg_popup_event.
// It panics if h is nil.
func (m *Mux) OnSubscribePopup(h func(ctx context.Context, ev *SubscribePopupEvent) error) {
	add(&m.popup, h)
}

// OnSubscribeChange adds a hook for subscribe_msg_change_event.
// It panics if h is nil.
func (m *Mux) OnSubscribeChange(h func(ctx context.Context, ev *SubscribeChangeEvent) error) {
	add(&m.change, h)
}

// OnSubscribeSent adds a hook for subscribe_msg_sent_event.
// It panics if h is nil.
func (m *Mux) OnSubscribeSent(h func(ctx context.Context, ev *SubscribeSentEvent) error) {
	add(&m.sent, h)
}

// OnText adds a hook for customer-service text messages.
// It panics if h is nil.
func (m *Mux) OnText(h func(ctx context.Context, msg *TextMessage) error) {
	add(&m.text, h)
}

// OnImage adds a hook for customer-service image messages.
// It panics if h is nil.
func (m *Mux) OnImage(h func(ctx context.Context, msg *ImageMessage) error) {
	add(&m.image, h)
}

// OnMiniProgramPage adds a hook for customer-service mini-program cards.
// It panics if h is nil.
func (m *Mux) OnMiniProgramPage(h func(ctx context.Context, msg *MiniProgramPageMessage) error) {
	add(&m.page, h)
}

// OnEnterSession adds a hook for user_enter_tempsession.
// It panics if h is nil.
func (m *Mux) OnEnterSession(h func(ctx context.Context, ev *EnterSessionEvent) error) {
	add(&m.enter, h)
}

// OnUnknown adds a hook for pushes of any other message type or event.
// It panics if h is nil.
func (m *Mux) OnUnknown(h func(ctx context.Context, msg *UnknownMessage) error) {
	add(&m.unknown, h)
}

// Kind names the sort of push a message is, as Dispatch sees it.
type Kind uint8

// Kinds of push.
const (
	KindUnknown Kind = iota
	KindSubscribePopup
	KindSubscribeChange
	KindSubscribeSent
	KindText
	KindImage
	KindMiniProgramPage
	KindEnterSession
)

var kindNames = [...]string{
	KindUnknown:         "unknown",
	KindSubscribePopup:  codec.EventSubscribePopup,
	KindSubscribeChange: codec.EventSubscribeChange,
	KindSubscribeSent:   codec.EventSubscribeSent,
	KindText:            codec.MsgTypeText,
	KindImage:           codec.MsgTypeImage,
	KindMiniProgramPage: codec.MsgTypeMiniProgramPage,
	KindEnterSession:    codec.EventEnterSession,
}

// String returns the WeChat name of the kind (its event name or message
// type), or "unknown".
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "unknown"
}

// KindOf classifies a decoded push.
func KindOf(msg *codec.Message) Kind {
	switch msg.MsgType {
	case codec.MsgTypeEvent:
		switch msg.Event {
		case codec.EventSubscribePopup:
			return KindSubscribePopup
		case codec.EventSubscribeChange:
			return KindSubscribeChange
		case codec.EventSubscribeSent:
			return KindSubscribeSent
		case codec.EventEnterSession:
			return KindEnterSession
		}
	case codec.MsgTypeText:
		return KindText
	case codec.MsgTypeImage:
		return KindImage
	case codec.MsgTypeMiniProgramPage:
		return KindMiniProgramPage
	}
	return KindUnknown
}

// Handles reports whether any hook would run for msg.
func (m *Mux) Handles(msg *codec.Message) bool {
	switch KindOf(msg) {
	case KindSubscribePopup:
		return len(m.popup) > 0
	case KindSubscribeChange:
		return len(m.change) > 0
	case KindSubscribeSent:
		return len(m.sent) > 0
	case KindText:
		return len(m.text) > 0
	case KindImage:
		return len(m.image) > 0
	case KindMiniProgramPage:
		return len(m.page) > 0
	case KindEnterSession:
		return len(m.enter) > 0
	}
	return len(m.unknown) > 0
}

// Dispatch builds the typed event for msg and runs its hooks in order,
// stopping at the first error, which it returns wrapped with the kind and
// the hook's position. It returns the passive reply a customer-service hook
// asked for, or nil. A push with no hooks for its kind is not an error.
//
// The event keeps msg; msg must not change while hooks run.
func (m *Mux) Dispatch(ctx context.Context, msg *codec.Message) (*codec.Reply, error) {
	switch kind := KindOf(msg); kind {
	case KindSubscribePopup:
		if len(m.popup) == 0 {
			return nil, nil
		}
		return nil, run(ctx, kind, m.popup, newPopup(msg))
	case KindSubscribeChange:
		if len(m.change) == 0 {
			return nil, nil
		}
		return nil, run(ctx, kind, m.change, newChange(msg))
	case KindSubscribeSent:
		if len(m.sent) == 0 {
			return nil, nil
		}
		return nil, run(ctx, kind, m.sent, newSent(msg))
	case KindText:
		if len(m.text) == 0 {
			return nil, nil
		}
		ev := &TextMessage{Session: session(msg), MsgID: msg.MsgID, Content: msg.Content}
		return reply(&ev.Session, run(ctx, kind, m.text, ev))
	case KindImage:
		if len(m.image) == 0 {
			return nil, nil
		}
		ev := &ImageMessage{Session: session(msg), MsgID: msg.MsgID, PicURL: msg.PicURL, MediaID: msg.MediaID}
		return reply(&ev.Session, run(ctx, kind, m.image, ev))
	case KindMiniProgramPage:
		if len(m.page) == 0 {
			return nil, nil
		}
		ev := &MiniProgramPageMessage{
			Session: session(msg), MsgID: msg.MsgID, Title: msg.Title, AppID: msg.AppID,
			PagePath: msg.PagePath, ThumbURL: msg.ThumbURL, ThumbMediaID: msg.ThumbMediaID,
		}
		return reply(&ev.Session, run(ctx, kind, m.page, ev))
	case KindEnterSession:
		if len(m.enter) == 0 {
			return nil, nil
		}
		ev := &EnterSessionEvent{Session: session(msg), SessionFrom: msg.SessionFrom}
		return reply(&ev.Session, run(ctx, kind, m.enter, ev))
	}
	if len(m.unknown) == 0 {
		return nil, nil
	}
	fields, err := codec.Fields(msg)
	if err != nil {
		return nil, fmt.Errorf("wxsub/handlers: reading the fields of an unknown push: %w", err)
	}
	return nil, run(ctx, KindUnknown, m.unknown, &UnknownMessage{Header: header(msg), Fields: fields})
}

func run[E any](ctx context.Context, kind Kind, hooks []func(context.Context, *E) error, ev *E) error {
	for i, h := range hooks {
		if err := h(ctx, ev); err != nil {
			return &HookError{Kind: kind, Index: i, Err: err}
		}
	}
	return nil
}

func reply(s *Session, err error) (*codec.Reply, error) {
	if err != nil {
		return nil, err
	}
	return s.result(), nil
}

func session(msg *codec.Message) Session { return Session{Header: header(msg)} }

// HookError is the error Dispatch returns when a hook fails.
type HookError struct {
	Kind Kind
	// Index is the hook's position among the hooks of its kind.
	Index int
	Err   error
}

func (e *HookError) Error() string {
	return fmt.Sprintf("wxsub/handlers: %s hook #%d: %v", e.Kind, e.Index, e.Err)
}

// Unwrap returns the hook's own error.
func (e *HookError) Unwrap() error { return e.Err }

func newPopup(msg *codec.Message) *SubscribePopupEvent {
	ev := &SubscribePopupEvent{Header: header(msg)}
	ev.Items = ev.inline[:0]
	for _, it := range msg.Items {
		ev.Items = append(ev.Items, PopupItem{TemplateID: it.TemplateID, Status: it.Status, PopupScene: it.PopupScene})
	}
	return ev
}

func newChange(msg *codec.Message) *SubscribeChangeEvent {
	ev := &SubscribeChangeEvent{Header: header(msg)}
	ev.Items = ev.inline[:0]
	for _, it := range msg.Items {
		ev.Items = append(ev.Items, ChangeItem{TemplateID: it.TemplateID, Status: it.Status})
	}
	return ev
}

func newSent(msg *codec.Message) *SubscribeSentEvent {
	ev := &SubscribeSentEvent{Header: header(msg)}
	ev.Items = ev.inline[:0]
	for _, it := range msg.Items {
		ev.Items = append(ev.Items, SentItem{TemplateID: it.TemplateID, MsgID: it.MsgID, ErrorCode: it.ErrorCode, ErrorStatus: it.ErrorStatus})
	}
	return ev
}
