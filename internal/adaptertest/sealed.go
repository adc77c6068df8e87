package adaptertest

import (
	"encoding/xml"
	"strconv"
	"testing"

	"github.com/wxsub/wxsub/codec"
)

const sealNonce = "987654"

func newCipher(t testing.TB) *codec.Cipher {
	t.Helper()
	c, err := codec.NewCipher(AESKey, AppID)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// sealed encrypts body at Now with a fixed prefix, so that query and body
// built separately agree.
func sealed(t testing.TB, body string) string {
	var prefix [16]byte
	copy(prefix[:], body)
	return newCipher(t).EncryptWithPrefix(prefix, []byte(body))
}

// sealedQuery is the query of a safe-mode push of body.
func sealedQuery(t testing.TB, body string) string {
	ts := strconv.FormatInt(Now, 10)
	return "timestamp=" + ts + "&nonce=" + sealNonce + "&encrypt_type=aes&msg_signature=" +
		codec.Signature(Token, ts, sealNonce, sealed(t, body))
}

// sealedBody is the XML envelope of a safe-mode push of body.
func sealedBody(t testing.TB, body string) string {
	return "<xml><ToUserName><![CDATA[" + GhID + "]]></ToUserName><Encrypt><![CDATA[" + sealed(t, body) + "]]></Encrypt></xml>"
}

// checkEncryptedTransfer checks an encrypted passive reply: its signature,
// and that it decrypts to the transfer_customer_service reply.
func checkEncryptedTransfer(t testing.TB, body []byte) {
	t.Helper()
	var env struct{ Encrypt, MsgSignature, TimeStamp, Nonce string }
	if err := xml.Unmarshal(body, &env); err != nil {
		t.Errorf("encrypted reply %q: %v", body, err)
		return
	}
	if want := codec.Signature(Token, env.TimeStamp, env.Nonce, env.Encrypt); env.MsgSignature != want {
		t.Errorf("encrypted reply: MsgSignature %q, want %q", env.MsgSignature, want)
	}
	plain, err := newCipher(t).Decrypt(env.Encrypt)
	if err != nil {
		t.Errorf("encrypted reply: %v", err)
		return
	}
	want := codec.EncodeReply(codec.XML, codec.Reply{ToUserName: OpenID, FromUserName: GhID, CreateTime: Now,
		MsgType: codec.MsgTypeTransferCustomerService})
	if string(plain) != string(want) {
		t.Errorf("encrypted reply decrypts to %s, want %s", plain, want)
	}
}
