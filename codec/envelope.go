package codec

// Envelope is the outer body of an encrypted push: the ciphertext, and the
// mini-program it is addressed to. In compatible mode the body carries the
// plaintext fields too; the Envelope leaves them out.
type Envelope struct {
	ToUserName string
	Encrypt    string
}

// DecodeEnvelope reads the envelope of an encrypted push, XML or JSON as
// DetectFormat tells, into env, which it resets first. It accepts exactly
// the bodies Decode accepts, with the same errors.
//
// Unlike Decode it copies nothing, because a route reads the envelope only
// to verify msg_signature and decrypt: env's strings share memory with
// body, and are valid only while body is not modified. Clone them
// (strings.Clone) to keep them longer.
func DecodeEnvelope(body []byte, env *Envelope) error {
	var m Message
	if err := decodeString(unsafeString(body), &m); err != nil {
		*env = Envelope{}
		return err
	}
	*env = Envelope{ToUserName: m.ToUserName, Encrypt: m.Encrypt}
	return nil
}
