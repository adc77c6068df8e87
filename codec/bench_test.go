package codec

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"sort"
	"strings"
	"testing"

	"github.com/goccy/go-json"
)

// Each benchmark has a wxsub case and a baseline doing the same work the
// plain way, so that one run gives the ratio.

func BenchmarkDecodeXML(b *testing.B) {
	body := readTestdata(b, "popup.xml")
	b.Run("wxsub", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(body)))
		var m Message
		for b.Loop() {
			if err := DecodeXML(body, &m); err != nil {
				b.Fatal(err)
			}
		}
		if len(m.Items) != 2 {
			b.Fatalf("decoded %d items", len(m.Items))
		}
	})
	b.Run("encoding_xml", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(body)))
		var m stdXMLMessage
		for b.Loop() {
			m = stdXMLMessage{}
			if err := xml.Unmarshal(body, &m); err != nil {
				b.Fatal(err)
			}
		}
		if len(m.Popup) != 2 {
			b.Fatalf("decoded %d items", len(m.Popup))
		}
	})
}

func BenchmarkDecodeJSON(b *testing.B) {
	body := readTestdata(b, "popup.json")
	b.Run("wxsub", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(body)))
		var m Message
		for b.Loop() {
			if err := DecodeJSON(body, &m); err != nil {
				b.Fatal(err)
			}
		}
		if len(m.Items) != 2 {
			b.Fatalf("decoded %d items", len(m.Items))
		}
	})
	b.Run("goccy_flat", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(body)))
		var m flatJSONMessage
		for b.Loop() {
			m = flatJSONMessage{}
			if err := json.Unmarshal(body, &m); err != nil {
				b.Fatal(err)
			}
		}
		if len(m.SubscribeMsgPopupEvent) != 2 {
			b.Fatalf("decoded %d items", len(m.SubscribeMsgPopupEvent))
		}
	})
}

// BenchmarkVerifySignature measures the query signature every plaintext
// push is checked by, against the textbook verifier.
func BenchmarkVerifySignature(b *testing.B) {
	const (
		token, ts, nonce = "AAAAA", "1714036504", "1514711492"
	)
	sig := Signature(token, ts, nonce)
	b.Run("wxsub", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if !VerifySignature(token, ts, nonce, sig) {
				b.Fatal("signature rejected")
			}
		}
	})
	b.Run("naive", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if !naiveVerify(sig, token, ts, nonce) {
				b.Fatal("signature rejected")
			}
		}
	})
}

func BenchmarkVerifyMsgSignature(b *testing.B) {
	const (
		token, ts, nonce = "AAAAA", "1714112445", "415670741"
		sig              = "046e02f8204d34f8ba5fa3b1db94908f3df2e9b3"
	)
	b.Run("wxsub", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if !VerifyMsgSignature(token, ts, nonce, encV3, sig) {
				b.Fatal("signature rejected")
			}
		}
	})
	b.Run("naive", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if !naiveVerify(sig, token, ts, nonce, encV3) {
				b.Fatal("signature rejected")
			}
		}
	})
}

// naiveVerify is the textbook verifier: sort, join, hash, hex, compare.
func naiveVerify(sig string, parts ...string) bool {
	sorted := append([]string(nil), parts...)
	sort.Strings(sorted)
	sum := sha1.Sum([]byte(strings.Join(sorted, "")))
	return subtle.ConstantTimeCompare([]byte(hex.EncodeToString(sum[:])), []byte(sig)) == 1
}

func BenchmarkDecrypt(b *testing.B) {
	c, err := NewCipher(keyV3, appV3)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("wxsub", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := c.Decrypt(encV3); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("naive", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := naiveDecrypt(keyV3, appV3, encV3); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// naiveDecrypt is the textbook decryption: the standard library's CBC mode
// and a fresh key for every call, as many SDKs do.
func naiveDecrypt(encodingAESKey, appID, ciphertext string) ([]byte, error) {
	key, err := base64.StdEncoding.DecodeString(encodingAESKey + "=")
	if err != nil {
		return nil, err
	}
	buf, err := base64.StdEncoding.DecodeString(ciphertext)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	cipher.NewCBCDecrypter(block, key[:16]).CryptBlocks(buf, buf)
	pad := int(buf[len(buf)-1])
	buf = buf[:len(buf)-pad]
	n := binary.BigEndian.Uint32(buf[16:20])
	if string(buf[20+n:]) != appID {
		return nil, errors.New("appid mismatch")
	}
	return buf[20 : 20+n], nil
}

func BenchmarkEncodeReply(b *testing.B) {
	r := Reply{ToUserName: "o9AgO5Kd5ggOC-bXrbNODIiE3bGY", FromUserName: "gh_97417a04a28d", CreateTime: 1399197672, MsgType: MsgTypeTransferCustomerService}
	b.Run("wxsub", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			EncodeReply(XML, r)
		}
	})
	b.Run("encoding_xml", func(b *testing.B) {
		type cdata struct {
			Text string `xml:",cdata"`
		}
		type reply struct {
			XMLName      xml.Name `xml:"xml"`
			ToUserName   cdata
			FromUserName cdata
			CreateTime   int64
			MsgType      cdata
		}
		v := reply{ToUserName: cdata{r.ToUserName}, FromUserName: cdata{r.FromUserName}, CreateTime: r.CreateTime, MsgType: cdata{r.MsgType}}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := xml.Marshal(v); err != nil {
				b.Fatal(err)
			}
		}
	})
}
