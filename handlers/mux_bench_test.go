package handlers

import (
	"context"
	"testing"

	"github.com/wxsub/wxsub/codec"
)

// BenchmarkDispatch measures the Mux against calling the same hook
// directly with an event built by hand (the floor).
func BenchmarkDispatch(b *testing.B) {
	msg := &codec.Message{MsgType: "event", Event: "subscribe_msg_popup_event", FromUserName: "oUser",
		Items: []codec.SubscribeItem{{TemplateID: "T1", Status: "accept"}, {TemplateID: "T2", Status: "accept"}}}
	hook := func(_ context.Context, ev *SubscribePopupEvent) error {
		if len(ev.Items) != 2 {
			b.Fatal("wrong event")
		}
		return nil
	}
	ctx := context.Background()
	b.Run("mux", func(b *testing.B) {
		m := NewMux()
		m.OnSubscribePopup(hook)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := m.Dispatch(ctx, msg); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("direct", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := hook(ctx, newPopup(msg)); err != nil {
				b.Fatal(err)
			}
		}
	})
}
