package codec

import (
	"crypto/sha1"
	"encoding/hex"
)

// sigLen is the length of a signature: SHA-1 in lowercase hexadecimal.
const sigLen = 2 * sha1.Size

// Signature returns WeChat's signature of parts: the lowercase hexadecimal
// SHA-1 of the parts sorted byte-wise and concatenated. The URL check signs
// (token, timestamp, nonce); safe mode signs (token, timestamp, nonce,
// Encrypt) as msg_signature.
func Signature(parts ...string) string {
	var sum [sigLen]byte
	sign(&sum, parts)
	return string(sum[:])
}

// VerifySignature reports whether signature is the query signature of
// token, timestamp and nonce. The comparison takes the same time wherever
// the strings differ, so it tells an attacker nothing.
func VerifySignature(token, timestamp, nonce, signature string) bool {
	var sum [sigLen]byte
	sign(&sum, []string{token, timestamp, nonce})
	return equalHex(&sum, signature)
}

// VerifyMsgSignature reports whether msgSignature is the safe-mode
// msg_signature of token, timestamp, nonce and the envelope's Encrypt
// field, in constant time.
func VerifyMsgSignature(token, timestamp, nonce, encrypt, msgSignature string) bool {
	var sum [sigLen]byte
	sign(&sum, []string{token, timestamp, nonce, encrypt})
	return equalHex(&sum, msgSignature)
}

// sign writes the signature of parts to dst. Up to four parts are sorted
// in a fixed-size array and hashed where they lie, so the verifiers do not
// allocate whatever the length of the parts.
func sign(dst *[sigLen]byte, parts []string) {
	var arr [4]string
	sorted := arr[:0]
	if len(parts) > len(arr) {
		sorted = make([]string, 0, len(parts))
	}
	sorted = append(sorted, parts...)
	// Insertion sort: a handful of elements, and no allocation.
	for i := 1; i < len(sorted); i++ {
		for j := i; j > 0 && sorted[j-1] > sorted[j]; j-- {
			sorted[j-1], sorted[j] = sorted[j], sorted[j-1]
		}
	}
	h := sha1.New()
	for _, p := range sorted {
		h.Write(readOnlyBytes(p))
	}
	var sum [sha1.Size]byte
	hex.Encode(dst[:], h.Sum(sum[:0]))
}

// equalHex reports whether got equals want, in time that depends only on
// their lengths.
func equalHex(want *[sigLen]byte, got string) bool {
	if len(got) != sigLen {
		return false
	}
	var diff byte
	for i := range sigLen {
		diff |= want[i] ^ got[i]
	}
	return diff == 0
}
