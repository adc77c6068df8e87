package codec

import (
	"strconv"
	"strings"
	"unicode/utf8"
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
		b = appendJSONString(b, r.ToUserName)
		b = append(b, `,"FromUserName":`...)
		b = appendJSONString(b, r.FromUserName)
		b = append(b, `,"CreateTime":`...)
		b = strconv.AppendInt(b, r.CreateTime, 10)
		b = append(b, `,"MsgType":`...)
		b = appendJSONString(b, r.MsgType)
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
		b = appendJSONString(b, encrypt)
		b = append(b, `,"MsgSignature":`...)
		b = appendJSONString(b, msgSignature)
		b = append(b, `,"TimeStamp":`...)
		b = strconv.AppendInt(b, timestamp, 10)
		b = append(b, `,"Nonce":`...)
		b = appendJSONString(b, nonce)
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

// appendJSONString appends s as a JSON string. Control characters, quotes
// and backslashes are escaped, U+2028 and U+2029 too (so the output is safe
// in JavaScript), and invalid UTF-8 becomes U+FFFD, as encoding/json does.
func appendJSONString(b []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
