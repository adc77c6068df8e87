package sendertest

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
)

// FuzzSubscribeSendBody feeds arbitrary request bodies to the fake's send
// endpoint: it must answer valid JSON with an errcode, never panic, and
// record a send only when it answered 0.
func FuzzSubscribeSendBody(f *testing.F) {
	for _, s := range []string{
		`{"touser":"u","template_id":"T","data":{"thing1":{"value":"v"}}}`,
		`{"touser":"","template_id":"T"}`,
		`{"touser":"u","template_id":""}`,
		`{"touser":"u","template_id":"T","data":{"thing1":{"value":1}}}`,
		`{"touser":`,
		`null`,
		``,
	} {
		f.Add([]byte(s))
	}
	s := NewServer()
	f.Cleanup(s.Close)
	f.Fuzz(func(t *testing.T, body []byte) {
		before := s.SendCount()
		w := httptest.NewRecorder()
		r := httptest.NewRequest(http.MethodPost, "/cgi-bin/message/subscribe/send", bytes.NewReader(body))
		s.handleSubscribeSend(w, r)
		var ans struct {
			ErrCode *int `json:"errcode"`
		}
		if err := json.Unmarshal(w.Body.Bytes(), &ans); err != nil || ans.ErrCode == nil {
			t.Fatalf("answer %q to %q: %v", w.Body.Bytes(), body, err)
		}
		if recorded := s.SendCount() - before; (*ans.ErrCode == 0) != (recorded == 1) {
			t.Fatalf("errcode %d but %d sends recorded for %q", *ans.ErrCode, recorded, body)
		}
	})
}
