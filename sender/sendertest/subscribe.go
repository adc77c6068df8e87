package sendertest

import (
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/goccy/go-json"
)

// Send is one subscription message the server accepted.
type Send struct {
	ToUser           string
	TemplateID       string
	Page             string
	Data             map[string]string
	MiniProgramState string
	Lang             string
	// MsgID is the msgid the server answered with.
	MsgID string
	// At is when the server accepted the send: after reading the request
	// and matching the rules, before any scripted Delay, by the server's
	// clock (time.Now, with its monotonic reading). Load tests count the
	// sends WeChat saw in each second from it.
	At time.Time
}

// Drop makes the server close the connection instead of answering.
type Drop int

const (
	// DropNone answers normally.
	DropNone Drop = iota
	// DropBeforeBody closes the connection without acting on the request:
	// the message is not delivered. The body is not read, unless the rule
	// selects a user or template, which the server must read to match.
	DropBeforeBody
	// DropAfterBody reads the request, acts on it (an accepted send is
	// delivered and recorded), then closes the connection without
	// answering: the client cannot know the outcome.
	DropAfterBody
)

// Reply is a scripted outcome of a subscription send.
type Reply struct {
	// ErrCode is the errcode to answer with, such as 43101, 47003 or -1.
	// Zero accepts the send.
	ErrCode int
	// ErrMsg is the errmsg; empty means WeChat's usual one for ErrCode.
	ErrMsg string
	// Status, when not 0 or 200, answers with that HTTP status and a
	// plain-text body instead; the send is not delivered.
	Status int
	// Delay waits before answering (or dropping).
	Delay time.Duration
	// Drop closes the connection instead of answering.
	Drop Drop
}

// Rule scripts the reply to the subscription sends it matches.
type Rule struct {
	// ToUser and TemplateID select the sends; empty matches any.
	ToUser     string
	TemplateID string
	// Times is how many matching sends get the reply; 0 means all of them
	// until ClearRules.
	Times int
	Reply Reply
}

type rule struct {
	Rule
	left int
}

type sendState struct {
	rules        []*rule
	sends        []Send
	sendRequests int
	requestTimes []time.Time
	nextMsgID    uint64
}

// firstMsgID makes msgids as large as WeChat's, beyond 2⁵³.
const firstMsgID = 1864323726461255680

// OnSend adds a rule. Rules are tried in the order they were added; the
// first that matches a send and has uses left decides its reply. Sends no
// rule matches are accepted.
func (s *Server) OnSend(r Rule) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rules = append(s.rules, &rule{Rule: r, left: r.Times})
}

// ClearRules removes every rule.
func (s *Server) ClearRules() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rules = nil
}

// Sends returns the accepted subscription sends, in the order accepted.
func (s *Server) Sends() []Send {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Send(nil), s.sends...)
}

// SendCount returns how many subscription sends were accepted.
func (s *Server) SendCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sends)
}

// SendRequests returns how many requests reached the subscription send
// endpoint, whatever their outcome (a bad token and scripted failures
// included).
func (s *Server) SendRequests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sendRequests
}

// SendRequestTimes returns when each request counted by SendRequests
// arrived, oldest first: every request that reached the subscription send
// endpoint, whatever its outcome, by the server's clock. It is what a rate
// limit in front of WeChat is judged by: refused and failed sends count
// against WeChat's frequency limit too.
func (s *Server) SendRequestTimes() []time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Time(nil), s.requestTimes...)
}

// countRequest counts a request to the send endpoint; s.mu is held.
func (s *Server) countRequest() {
	s.sendRequests++
	s.requestTimes = append(s.requestTimes, time.Now())
}

// countRejected counts a send rejected for its token.
func (s *Server) countRejected(r *http.Request) {
	if r.URL.Path == "/cgi-bin/message/subscribe/send" {
		s.mu.Lock()
		s.countRequest()
		s.mu.Unlock()
	}
}

type sendRequest struct {
	ToUser           string `json:"touser"`
	TemplateID       string `json:"template_id"`
	Page             string `json:"page"`
	MiniProgramState string `json:"miniprogram_state"`
	Lang             string `json:"lang"`
	Data             map[string]struct {
		Value string `json:"value"`
	} `json:"data"`
}

type sendAnswer struct {
	ErrCode int    `json:"errcode"`
	ErrMsg  string `json:"errmsg"`
	MsgID   uint64 `json:"msgid,omitempty"`
}

// matchEarly picks the reply before the body is read, which is possible
// while the first rule with uses left selects no user or template (or no
// rule is left). It reports whether it could decide; s.mu is held.
func (s *Server) matchEarly() (Reply, bool) {
	for _, r := range s.rules {
		if r.Times != 0 && r.left == 0 {
			continue
		}
		if r.ToUser != "" || r.TemplateID != "" {
			return Reply{}, false
		}
		if r.Times != 0 {
			r.left--
		}
		return r.Reply, true
	}
	return Reply{}, true
}

// match picks the reply for a send and uses up one of the rule's times;
// s.mu is held.
func (s *Server) match(toUser, templateID string) Reply {
	for _, r := range s.rules {
		if r.Times != 0 && r.left == 0 {
			continue
		}
		if r.ToUser != "" && r.ToUser != toUser || r.TemplateID != "" && r.TemplateID != templateID {
			continue
		}
		if r.Times != 0 {
			r.left--
		}
		return r.Reply
	}
	return Reply{}
}

func (s *Server) handleSubscribeSend(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.countRequest()
	reply, decided := s.matchEarly()
	s.mu.Unlock()
	if decided && reply.Drop == DropBeforeBody {
		if s.wait(r, reply.Delay) {
			hangUp(w)
		}
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	var in sendRequest
	if err == nil {
		err = json.Unmarshal(body, &in)
	}
	if err != nil {
		writeError(w, 47001, "")
		return
	}
	s.mu.Lock()
	if !decided {
		reply = s.match(in.ToUser, in.TemplateID)
	}
	var ans sendAnswer
	switch {
	case reply.Drop == DropBeforeBody:
	case reply.Status != 0 && reply.Status != http.StatusOK:
	case reply.ErrCode != 0:
		ans = sendAnswer{ErrCode: reply.ErrCode, ErrMsg: reply.ErrMsg}
	case in.ToUser == "":
		ans = sendAnswer{ErrCode: 40003}
	case in.TemplateID == "" || s.checkTemplates && !s.hasTemplate(in.TemplateID):
		ans = sendAnswer{ErrCode: 40037}
	default:
		id := firstMsgID + s.nextMsgID
		s.nextMsgID++
		ans = sendAnswer{ErrMsg: "ok", MsgID: id}
		data := make(map[string]string, len(in.Data))
		for k, v := range in.Data {
			data[k] = v.Value
		}
		s.sends = append(s.sends, Send{
			ToUser: in.ToUser, TemplateID: in.TemplateID, Page: in.Page, Data: data,
			MiniProgramState: in.MiniProgramState, Lang: in.Lang, MsgID: strconv.FormatUint(id, 10),
			At: time.Now(),
		})
	}
	s.mu.Unlock()
	if ans.ErrMsg == "" {
		ans.ErrMsg = ErrMsg(ans.ErrCode)
	}
	if !s.wait(r, reply.Delay) {
		return
	}
	switch {
	case reply.Drop != DropNone:
		hangUp(w)
	case reply.Status != 0 && reply.Status != http.StatusOK:
		http.Error(w, http.StatusText(reply.Status), reply.Status)
	default:
		writeJSON(w, ans)
	}
}

// wait sleeps d; it reports false when the client went away or the server
// is closing.
func (s *Server) wait(r *http.Request, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
	case <-s.closed:
	}
	return false
}

// hangUp closes the connection without an answer. Where the connection
// cannot be hijacked it aborts the handler with http.ErrAbortHandler, the
// sentinel net/http turns into a closed connection without logging.
func hangUp(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			_ = conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}
