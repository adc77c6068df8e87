package handlers

import "github.com/wxsub/wxsub/codec"

// Session is embedded in customer-service messages and events. Besides the
// common header it lets a hook answer the push with a passive reply instead
// of "success". The reply is sent only when the hooks ran within the
// request (not in asynchronous mode) and all of them succeeded.
type Session struct {
	Header

	reply   codec.Reply
	replied bool
}

// SetReply asks for r to be sent as the passive reply. A later call
// replaces an earlier one. A zero CreateTime is filled in with the time the
// reply is encoded.
func (s *Session) SetReply(r codec.Reply) {
	s.reply = r
	s.replied = true
}

// TransferToCustomerService asks for the push to be answered with a
// transfer_customer_service reply, so that the user's messages go to the
// human agent tool.
func (s *Session) TransferToCustomerService() {
	s.SetReply(codec.Reply{
		ToUserName:   s.FromUserName,
		FromUserName: s.ToUserName,
		MsgType:      codec.MsgTypeTransferCustomerService,
	})
}

// Reply returns the reply a hook asked for, and whether there is one.
func (s *Session) Reply() (codec.Reply, bool) { return s.reply, s.replied }

func (s *Session) result() *codec.Reply {
	if !s.replied {
		return nil
	}
	return &s.reply
}
