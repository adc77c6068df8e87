package codec

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
)

const (
	keyV3   = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	appV3   = "wxba5fad812f8e6fb9"
	plainV3 = `{"ToUserName":"gh_97417a04a28d","FromUserName":"o9AgO5Kd5ggOC-bXrbNODIiE3bGY","CreateTime":1714112445,"MsgType":"event","Event":"debug_demo","debug_str":"hello world"}`
	encV4   = "ELGduP2YcVatjqIS+eZbp80MNLoAUWvzzyJxgGzxZO/5sAvd070Bs6qrLARC9nVHm48Y4hyRbtzve1L32tmxSQ=="
)

func newTestCipher(t testing.TB) *Cipher {
	t.Helper()
	c, err := NewCipher(keyV3, appV3)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func prefixOf(s string) (p [16]byte) {
	copy(p[:], s)
	return p
}

// rawPlaintext decrypts ciphertext without checking anything, to look at
// the padding WeChat used.
func rawPlaintext(t *testing.T, c *Cipher, ciphertext string) []byte {
	t.Helper()
	buf, err := base64.StdEncoding.DecodeString(ciphertext)
	if err != nil {
		t.Fatal(err)
	}
	c.decryptCBC(buf)
	return buf
}

func TestDecryptV3(t *testing.T) {
	c := newTestCipher(t)
	if c.AppID() != appV3 {
		t.Errorf("AppID = %q", c.AppID())
	}
	got, err := c.Decrypt(encV3)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != plainV3 {
		t.Errorf("Decrypt = %s\nwant %s", got, plainV3)
	}
	raw := rawPlaintext(t, c, encV3)
	if pad := raw[len(raw)-1]; pad != 19 {
		t.Errorf("V3 pad = %d, want 19", pad)
	}
	prefix, _, err := c.open(encV3)
	if err != nil || string(prefix[:]) != "a8eedb185eb2fecf" {
		t.Errorf("V3 prefix = %q, %v; want a8eedb185eb2fecf", prefix[:], err)
	}
}

func TestEncryptV4(t *testing.T) {
	c := newTestCipher(t)
	msg := []byte(`{"demo_resp":"good luck"}`)
	enc := c.EncryptWithPrefix(prefixOf("707722b803182950"), msg)
	if enc != encV4 {
		t.Errorf("EncryptWithPrefix = %s\nwant %s", enc, encV4)
	}
	if sig := Signature("AAAAA", "1713424427", "415670741", enc); sig != "1b9339964ed2e271e7c7b6ff2b0ef902fc94dea1" {
		t.Errorf("MsgSignature = %s", sig)
	}
	want := `{"Encrypt":"` + encV4 + `","MsgSignature":"1b9339964ed2e271e7c7b6ff2b0ef902fc94dea1","TimeStamp":1713424427,"Nonce":"415670741"}`
	if got := EncodeEncryptedReply(JSON, enc, "1b9339964ed2e271e7c7b6ff2b0ef902fc94dea1", 1713424427, "415670741"); string(got) != want {
		t.Errorf("EncodeEncryptedReply = %s\nwant %s", got, want)
	}
}

func TestEncryptReply(t *testing.T) {
	c := newTestCipher(t)
	msg := []byte(`{"demo_resp":"good luck"}`)
	for _, f := range []Format{XML, JSON} {
		body, err := c.EncryptReply(f, "AAAAA", msg, 1713424427, "415670741")
		if err != nil {
			t.Fatal(err)
		}
		var env Message
		if err := Decode(body, &env); err != nil {
			t.Fatalf("%v reply does not decode: %v\n%s", f, err, body)
		}
		if env.Format != f {
			t.Errorf("reply format = %v, want %v", env.Format, f)
		}
		plain, err := c.Decrypt(env.Encrypt)
		if err != nil || !bytes.Equal(plain, msg) {
			t.Errorf("%v reply decrypts to %q, %v", f, plain, err)
		}
		fields, err := Fields(&env)
		if err != nil {
			t.Fatal(err)
		}
		if !VerifyMsgSignature("AAAAA", fields["TimeStamp"], fields["Nonce"], env.Encrypt, fields["MsgSignature"]) {
			t.Errorf("%v reply has a bad MsgSignature: %q", f, fields)
		}
		if fields["TimeStamp"] != "1713424427" || fields["Nonce"] != "415670741" {
			t.Errorf("%v reply fields = %q", f, fields)
		}
	}
	// Two encryptions of one message differ: the prefix is random.
	a, _ := c.Encrypt(msg)
	b, _ := c.Encrypt(msg)
	if a == b {
		t.Error("Encrypt repeats its random prefix")
	}
}

func TestRoundTripAllPads(t *testing.T) {
	c := newTestCipher(t)
	pads := make(map[byte]bool)
	for n := 0; n <= 200; n++ {
		msg := bytes.Repeat([]byte{byte(n)}, n)
		prefix := prefixOf(strings.Repeat(string(rune('a'+n%26)), 16))
		enc := c.EncryptWithPrefix(prefix, msg)
		gotPrefix, got, err := c.open(enc)
		if err != nil {
			t.Fatalf("len %d: %v", n, err)
		}
		if !bytes.Equal(got, msg) || gotPrefix != prefix {
			t.Fatalf("len %d: round trip gave %x (prefix %q)", n, got, gotPrefix[:])
		}
		raw := rawPlaintext(t, c, enc)
		if len(raw)%32 != 0 {
			t.Fatalf("len %d: plaintext of %d bytes is not padded to 32", n, len(raw))
		}
		pads[raw[len(raw)-1]] = true
	}
	for p := byte(1); p <= 32; p++ {
		if !pads[p] {
			t.Errorf("pad value %d never occurred", p)
		}
	}
}

// seal builds a ciphertext from a raw plaintext of our choosing, so that
// tests can craft bad padding and bad length fields.
func seal(t *testing.T, plain []byte) string {
	t.Helper()
	key, _ := base64.StdEncoding.DecodeString(keyV3 + "=")
	block, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	buf := bytes.Clone(plain)
	cipher.NewCBCEncrypter(block, key[:16]).CryptBlocks(buf, buf)
	return base64.StdEncoding.EncodeToString(buf)
}

// plaintext assembles prefix ‖ length field ‖ msg ‖ appid ‖ padding.
func plaintext(length uint32, msg, appID string, pad []byte) []byte {
	b := []byte("0123456789abcdef")
	b = binary.BigEndian.AppendUint32(b, length)
	b = append(b, msg...)
	b = append(b, appID...)
	return append(b, pad...)
}

// padTo pads n bytes to a multiple of 32 with PKCS#7.
func padTo(n int) []byte {
	p := 32 - n%32
	return bytes.Repeat([]byte{byte(p)}, p)
}

func TestDecryptRejects(t *testing.T) {
	c := newTestCipher(t)
	good := plaintext(5, "hello", appV3, nil)
	good = append(good, padTo(len(good))...)
	if msg, err := c.Decrypt(seal(t, good)); err != nil || string(msg) != "hello" {
		t.Fatalf("crafted good plaintext: %q, %v", msg, err)
	}
	withPad := func(pad []byte) []byte {
		b := plaintext(5, "hello", appV3, nil)
		b = append(b, pad...)
		return b
	}
	n := len(plaintext(5, "hello", appV3, nil)) // 43: needs 21 bytes of padding
	inconsistent := padTo(n)
	inconsistent[0] = 20
	tests := []struct {
		name       string
		ciphertext string
		want       error
	}{
		{"bad base64", "not base64!", ErrBadCiphertext},
		{"truncated base64", encV3[:len(encV3)-3], ErrBadCiphertext},
		{"empty", "", ErrBadCiphertext},
		{"not a block multiple", base64.StdEncoding.EncodeToString(make([]byte, 40)), ErrBadCiphertext},
		{"pad byte 0", seal(t, append(withPad(make([]byte, 20)), 0)), ErrBadPadding},
		{"pad byte 33", seal(t, append(withPad(bytes.Repeat([]byte{33}, 20)), 33)), ErrBadPadding},
		{"inconsistent pad bytes", seal(t, withPad(inconsistent)), ErrBadPadding},
		{"pad longer than the text", seal(t, bytes.Repeat([]byte{32}, 16)), ErrBadPadding},
		{"no room for the header", seal(t, append(make([]byte, 16), bytes.Repeat([]byte{16}, 16)...)), ErrBadLength},
		{"length field past the end", seal(t, func() []byte {
			b := plaintext(500, "hello", appV3, nil)
			return append(b, padTo(len(b))...)
		}()), ErrBadLength},
		{"length field 2^32-1", seal(t, func() []byte {
			b := plaintext(0xffffffff, "hello", appV3, nil)
			return append(b, padTo(len(b))...)
		}()), ErrBadLength},
		{"wrong appid", seal(t, func() []byte {
			b := plaintext(5, "hello", "wx0000000000000000", nil)
			return append(b, padTo(len(b))...)
		}()), ErrAppIDMismatch},
		{"appid cut short by the length field", seal(t, func() []byte {
			b := plaintext(6, "hello", appV3, nil)
			return append(b, padTo(len(b))...)
		}()), ErrAppIDMismatch},
	}
	for _, tt := range tests {
		msg, err := c.Decrypt(tt.ciphertext)
		if !errors.Is(err, tt.want) {
			t.Errorf("%s: Decrypt = %q, %v; want %v", tt.name, msg, err, tt.want)
		}
		if msg != nil {
			t.Errorf("%s: Decrypt returned a message with its error", tt.name)
		}
	}
	// The V3 body under another app's cipher.
	other, err := NewCipher(keyV3, "wx0000000000000000")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.Decrypt(encV3); !errors.Is(err, ErrAppIDMismatch) {
		t.Errorf("V3 under another appid: %v, want ErrAppIDMismatch", err)
	}
}

func TestNewCipherRejects(t *testing.T) {
	tests := []struct {
		name, key, appID string
		want             error
	}{
		{"short key", keyV3[:42], appV3, ErrBadKey},
		{"long key", keyV3 + "A", appV3, ErrBadKey},
		{"empty key", "", appV3, ErrBadKey},
		{"not base64", strings.Repeat("!", 43), appV3, ErrBadKey},
	}
	for _, tt := range tests {
		c, err := NewCipher(tt.key, tt.appID)
		if !errors.Is(err, tt.want) || c != nil {
			t.Errorf("%s: NewCipher = %v, %v; want %v", tt.name, c, err, tt.want)
		}
	}
	if _, err := NewCipher(keyV3, ""); err == nil || !strings.Contains(err.Error(), "appID") {
		t.Errorf("empty appID: %v, want an error naming appID", err)
	}
}

func TestDecryptAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates; this test runs without -race")
	}
	c := newTestCipher(t)
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := c.Decrypt(encV3); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 1 {
		t.Errorf("Decrypt allocates %v times, want 1 (the plaintext buffer)", allocs)
	}
}

// TestAppIDMismatchKeepsPlaintextOut is the regression test of issue 11
// item 6: the mismatch error quoted the bytes after the message, which
// hold message text when the length field is short, and a caller may log
// the error.
func TestAppIDMismatchKeepsPlaintextOut(t *testing.T) {
	c, err := NewCipher(keyV3, appV3)
	if err != nil {
		t.Fatal(err)
	}
	// The appid position of this plaintext holds what a user wrote.
	const secret = "my card number is 6222020000000000"
	leaky, err := NewCipher(keyV3, secret)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Decrypt(leaky.EncryptWithPrefix(prefixOf("0123456789abcdef"), []byte(`{}`)))
	if !errors.Is(err, ErrAppIDMismatch) {
		t.Fatalf("err = %v, want ErrAppIDMismatch", err)
	}
	if strings.Contains(err.Error(), "6222") || strings.Contains(err.Error(), "card") {
		t.Errorf("the error quotes decrypted bytes: %v", err)
	}
}
