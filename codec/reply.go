package codec

import (
	"strconv"
	"strings"

	"github.com/wxsub/wxsub/internal/jsonstr"
)

// Success is the body that acknowledges a push without a passive reply.
// WeChat also accepts an empty body.
const Success = "success"

// MsgTypeTransferCustomerService is the MsgType of the passive reply that
// hands a customer-service message to the human agents' tool.
const MsgTypeTransferCustomerService = "transfer_customer_service"

// Reply is a passive reply to a push: the fields WeChat reads from the
// reply body, such as the transfer to customer service.
type Reply struct {
	ToUserName   string
	FromUserName string
	CreateTime   int64
	MsgType      string
}

// TransferCustomerService returns the reply that hands msg, a
// customer-service message, to the human agents' tool: addressed back to
// its sender, from the mini-program, created at now (unix seconds).
func TransferCustomerService(msg *Message, now int64) Reply {
	return Reply{
		ToUserName:   msg.FromUserName,
		FromUserName: msg.ToUserName,
		CreateTime:   now,
		MsgType:      MsgTypeTransferCustomerService,
	}
}

// EncodeReply encodes r in format f: JSON for JSON, and WeChat's XML with
// CDATA sections for XML or any other value. Text containing "]]>" is split
// across CDATA sections, so the XML stays well-formed and decodes back to
// the same text.
func EncodeReply(f Format, r Reply) []byte {
	n := 160 + len(r.ToUserName) + len(r.FromUserName) + len(r.MsgType)
	b := make([]byte, 0, n)
	if f == JSON {
		b = append(b, `{"ToUserName":`...)
		b = jsonstr.Append(b, r.ToUserName)
		b = append(b, `,"FromUserName":`...)
		b = jsonstr.Append(b, r.FromUserName)
		b = append(b, `,"CreateTime":`...)
		b = strconv.AppendInt(b, r.CreateTime, 10)
		b = append(b, `,"MsgType":`...)
		b = jsonstr.Append(b, r.MsgType)
		return append(b, '}')
	}
	b = append(b, "<xml><ToUserName>"...)
	b = appendCDATA(b, r.ToUserName)
	b = append(b, "</ToUserName><FromUserName>"...)
	b = appendCDATA(b, r.FromUserName)
	b = append(b, "</FromUserName><CreateTime>"...)
	b = strconv.AppendInt(b, r.CreateTime, 10)
	b = append(b, "</CreateTime><MsgType>"...)
	b = appendCDATA(b, r.MsgType)
	return append(b, "</MsgType></xml>"...)
}

// EncodeEncryptedReply encodes the envelope of an encrypted passive reply in
// format f (XML unless f is JSON). In JSON, TimeStamp is a number and Nonce
// a string, as WeChat expects. Cipher.EncryptReply builds the whole reply.
func EncodeEncryptedReply(f Format, encrypt, msgSignature string, timestamp int64, nonce string) []byte {
	n := 160 + len(encrypt) + len(msgSignature) + len(nonce)
	b := make([]byte, 0, n)
	if f == JSON {
		b = append(b, `{"Encrypt":`...)
		b = jsonstr.Append(b, encrypt)
		b = append(b, `,"MsgSignature":`...)
		b = jsonstr.Append(b, msgSignature)
		b = append(b, `,"TimeStamp":`...)
		b = strconv.AppendInt(b, timestamp, 10)
		b = append(b, `,"Nonce":`...)
		b = jsonstr.Append(b, nonce)
		return append(b, '}')
	}
	b = append(b, "<xml><Encrypt>"...)
	b = appendCDATA(b, encrypt)
	b = append(b, "</Encrypt><MsgSignature>"...)
	b = appendCDATA(b, msgSignature)
	b = append(b, "</MsgSignature><TimeStamp>"...)
	b = strconv.AppendInt(b, timestamp, 10)
	b = append(b, "</TimeStamp><Nonce>"...)
	b = appendCDATA(b, nonce)
	return append(b, "</Nonce></xml>"...)
}

// appendCDATA appends s as CDATA. Each "]]>" in s ends the section after
// "]]" and opens a new one for ">", the only way to carry it in CDATA.
func appendCDATA(b []byte, s string) []byte {
	b = append(b, "<![CDATA["...)
	for {
		i := strings.Index(s, "]]>")
		if i < 0 {
			break
		}
		b = append(b, s[:i+2]...)
		b = append(b, "]]><![CDATA["...)
		s = s[i+2:]
	}
	b = append(b, s...)
	return append(b, "]]>"...)
}
