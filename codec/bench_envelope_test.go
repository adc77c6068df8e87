package codec

import "testing"

// BenchmarkOpenSafePush reads a safe-mode XML push the way the callback
// route does, DecodeEnvelope then DecryptMessage, against decoding the
// envelope with Decode and the plaintext with Decrypt and Decode, which
// copies both the body and the plaintext.
func BenchmarkOpenSafePush(b *testing.B) {
	c, err := NewCipher(keyV3, appV3)
	if err != nil {
		b.Fatal(err)
	}
	plain := readTestdata(b, "popup.xml")
	body := []byte("<xml><ToUserName><![CDATA[gh_123456789abc]]></ToUserName><Encrypt><![CDATA[" +
		c.EncryptWithPrefix(prefixOf("0123456789abcdef"), plain) + "]]></Encrypt></xml>")
	b.Run("wxsub", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(body)))
		var env Envelope
		var m Message
		for b.Loop() {
			if err := DecodeEnvelope(body, &env); err != nil {
				b.Fatal(err)
			}
			if err := c.DecryptMessage(env.Encrypt, &m); err != nil || len(m.Items) != 2 {
				b.Fatal(err)
			}
		}
	})
	b.Run("decode_twice", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(body)))
		var env, m Message
		for b.Loop() {
			if err := Decode(body, &env); err != nil {
				b.Fatal(err)
			}
			p, err := c.Decrypt(env.Encrypt)
			if err != nil {
				b.Fatal(err)
			}
			if err := Decode(p, &m); err != nil || len(m.Items) != 2 {
				b.Fatal(err)
			}
		}
	})
}
