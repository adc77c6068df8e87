package memory

import (
	"crypto/rand"
	"encoding/hex"
)

// randomID returns 16 random bytes as hex, for lease IDs and generation
// prefixes.
func randomID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never returns an error
	return hex.EncodeToString(b[:])
}
