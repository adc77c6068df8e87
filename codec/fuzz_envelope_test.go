package codec

import (
	"errors"
	"reflect"
	"testing"
)

// FuzzDecodeEnvelope checks DecodeEnvelope against Decode: every body
// Decode accepts is accepted, with the same envelope fields; errors wrap
// ErrMalformed and leave the envelope zero. DecodeEnvelope may accept more
// than Decode: it does not read the members it skips.
func FuzzDecodeEnvelope(f *testing.F) {
	for _, name := range testdataFiles(f, "") {
		f.Add(readTestdata(f, name))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var env Envelope
		envErr := DecodeEnvelope(body, &env)
		var m Message
		err := Decode(body, &m)
		if envErr != nil {
			if err == nil {
				t.Fatalf("DecodeEnvelope error %v, Decode accepted the body", envErr)
			}
			if !errors.Is(envErr, ErrMalformed) {
				t.Fatalf("error does not wrap ErrMalformed: %v", envErr)
			}
			if env != (Envelope{}) {
				t.Fatalf("envelope left %+v after an error", env)
			}
			return
		}
		if err == nil && (env.ToUserName != m.ToUserName || env.Encrypt != m.Encrypt) {
			t.Fatalf("DecodeEnvelope = %+v, Decode read %q and %q", env, m.ToUserName, m.Encrypt)
		}
	})
}

// FuzzDecryptMessage checks DecryptMessage against Decode of the same
// plaintext: the same bodies accepted, decoded to the same Message.
func FuzzDecryptMessage(f *testing.F) {
	c, err := NewCipher(keyV3, appV3)
	if err != nil {
		f.Fatal(err)
	}
	for _, name := range testdataFiles(f, "") {
		f.Add(readTestdata(f, name))
	}
	f.Fuzz(func(t *testing.T, plain []byte) {
		var got Message
		gotErr := c.DecryptMessage(c.EncryptWithPrefix(prefixOf("0123456789abcdef"), plain), &got)
		var want Message
		err := Decode(plain, &want)
		if (gotErr == nil) != (err == nil) {
			t.Fatalf("DecryptMessage error %v, Decode error %v", gotErr, err)
		}
		if gotErr != nil && !errors.Is(gotErr, ErrMalformed) {
			t.Fatalf("error does not wrap ErrMalformed: %v", gotErr)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("DecryptMessage = %+v\nDecode = %+v", got, want)
		}
	})
}
