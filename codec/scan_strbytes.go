package codec

import "unsafe"

// readOnlyBytes returns the bytes of s without copying them. The result
// must never be written to: it is only handed to code that reads its input
// and keeps none of it (SHA-1, encoding/base64, goccy/go-json), so a body is
// copied once, into Message.Raw, and not again for each of them.
func readOnlyBytes(s string) []byte {
	return unsafe.Slice(unsafe.StringData(s), len(s))
}

// unsafeString returns b as a string without copying it. It is for bytes
// that nothing writes to while the string is in use: a buffer this package
// just filled and hands over for good, or a body whose strings DecodeEnvelope
// documents as valid only while the body is unchanged.
func unsafeString(b []byte) string {
	return unsafe.String(unsafe.SliceData(b), len(b))
}
