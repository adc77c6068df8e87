package codec

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"
)

// Errors of the Cipher, to test for with errors.Is. NewCipher's errors about
// the key wrap ErrBadKey; every error of Decrypt wraps one of the others.
var (
	// ErrBadKey means the EncodingAESKey is not 43 characters of base64
	// that decode to a 32-byte AES key.
	ErrBadKey = errors.New("codec: bad EncodingAESKey")
	// ErrBadCiphertext means the ciphertext is not base64, or its length
	// is not a positive multiple of the AES block size.
	ErrBadCiphertext = errors.New("codec: bad ciphertext")
	// ErrBadPadding means the decrypted PKCS#7 padding is not 1 to 32
	// copies of its own length.
	ErrBadPadding = errors.New("codec: bad padding")
	// ErrBadLength means the decrypted length field does not fit the
	// plaintext, or a message is too long to encrypt.
	ErrBadLength = errors.New("codec: bad message length")
	// ErrAppIDMismatch means the plaintext ends in another app's id: the
	// body was encrypted for a different mini-program.
	ErrAppIDMismatch = errors.New("codec: appid mismatch")
)

const (
	// keyLen is the length of an EncodingAESKey in characters.
	keyLen = 43
	// padBlock is the block WeChat pads plaintexts to: 32 bytes, not
	// AES's 16, so pad values run from 1 to 32.
	padBlock = 32
	// prefixLen is the length of the random prefix of a plaintext.
	prefixLen = 16
	// headerLen is the prefix and the 4-byte message length.
	headerLen = prefixLen + 4
)

// Cipher encrypts and decrypts safe-mode bodies for one mini-program: AES-256
// in CBC mode with the key from the EncodingAESKey and its first 16 bytes as
// IV. The plaintext is 16 random bytes, the message length (4 bytes, big
// endian), the message and the appid, padded with PKCS#7 to a multiple of 32
// bytes. A Cipher is safe for concurrent use.
type Cipher struct {
	block cipher.Block
	iv    [aes.BlockSize]byte
	appID string
}

// NewCipher returns the Cipher for an EncodingAESKey (43 characters from the
// mini-program's admin console) and the mini-program's appid, which Decrypt
// requires at the end of every plaintext.
func NewCipher(encodingAESKey, appID string) (*Cipher, error) {
	if len(encodingAESKey) != keyLen {
		return nil, fmt.Errorf("%w: EncodingAESKey has %d characters, want %d", ErrBadKey, len(encodingAESKey), keyLen)
	}
	key, err := base64.StdEncoding.DecodeString(encodingAESKey + "=")
	if err != nil || len(key) != 32 {
		return nil, fmt.Errorf("%w: EncodingAESKey is not base64 of a 32-byte key", ErrBadKey)
	}
	if appID == "" {
		return nil, errors.New("codec: NewCipher: appID is empty")
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadKey, err)
	}
	c := &Cipher{block: block, appID: appID}
	copy(c.iv[:], key)
	return c, nil
}

// AppID returns the appid the Cipher checks and appends.
func (c *Cipher) AppID() string { return c.appID }

// Decrypt decrypts a safe-mode Encrypt field and returns the message. It
// checks the padding, the length field and the trailing appid; its errors
// wrap ErrBadCiphertext, ErrBadPadding, ErrBadLength or ErrAppIDMismatch.
func (c *Cipher) Decrypt(ciphertext string) ([]byte, error) {
	_, msg, err := c.open(ciphertext)
	return msg, err
}

// DecryptMessage decrypts a safe-mode Encrypt field and decodes the push
// it holds into m, which it resets first: Decrypt then Decode, except that
// m.Raw is the decrypted buffer itself rather than a copy of it. Its
// errors are Decrypt's, or Decode's (wrapping ErrMalformed); on error m is
// left zero.
func (c *Cipher) DecryptMessage(ciphertext string, m *Message) error {
	_, msg, err := c.open(ciphertext)
	if err != nil {
		*m = Message{}
		return err
	}
	// msg lies in a buffer open made for this call and nothing else
	// refers to, so it can become m.Raw as it is.
	return decodeString(unsafeString(msg), m)
}

// open decrypts ciphertext and returns its random prefix and message. The
// message aliases one buffer allocated for the call.
func (c *Cipher) open(ciphertext string) (prefix [prefixLen]byte, msg []byte, err error) {
	buf := make([]byte, base64.StdEncoding.DecodedLen(len(ciphertext)))
	n, err := base64.StdEncoding.Decode(buf, readOnlyBytes(ciphertext))
	if err != nil {
		return prefix, nil, fmt.Errorf("%w: %w", ErrBadCiphertext, err)
	}
	buf = buf[:n]
	if n == 0 || n%aes.BlockSize != 0 {
		return prefix, nil, fmt.Errorf("%w: %d bytes is not a positive multiple of %d", ErrBadCiphertext, n, aes.BlockSize)
	}
	c.decryptCBC(buf)

	pad := int(buf[n-1])
	if pad < 1 || pad > padBlock || pad > n {
		return prefix, nil, fmt.Errorf("%w: pad byte %d", ErrBadPadding, pad)
	}
	var diff byte
	for _, b := range buf[n-pad:] {
		diff |= b ^ byte(pad)
	}
	if diff != 0 {
		return prefix, nil, fmt.Errorf("%w: pad bytes differ", ErrBadPadding)
	}
	plain := buf[:n-pad]
	if len(plain) < headerLen {
		return prefix, nil, fmt.Errorf("%w: plaintext of %d bytes has no room for its header", ErrBadLength, len(plain))
	}
	size := binary.BigEndian.Uint32(plain[prefixLen:headerLen])
	if uint64(size) > uint64(len(plain)-headerLen) {
		return prefix, nil, fmt.Errorf("%w: length field %d exceeds the %d bytes left", ErrBadLength, size, len(plain)-headerLen)
	}
	end := headerLen + int(size)
	if string(plain[end:]) != c.appID {
		// The error names the mismatch without quoting the tail: with a
		// short length field it is message text, which a caller may log.
		return prefix, nil, fmt.Errorf("%w: the %d bytes after the message are not this Cipher's appid",
			ErrAppIDMismatch, len(plain)-end)
	}
	copy(prefix[:], plain)
	return prefix, plain[headerLen:end:end], nil
}

// Encrypt encrypts msg for a safe-mode reply, with a random prefix from
// crypto/rand. It fails only when msg is 4 GiB or longer (ErrBadLength) or
// the system's random source fails.
func (c *Cipher) Encrypt(msg []byte) (string, error) {
	if uint64(len(msg)) > math.MaxUint32 {
		return "", fmt.Errorf("%w: message of %d bytes does not fit the 32-bit length field", ErrBadLength, len(msg))
	}
	var prefix [prefixLen]byte
	if _, err := rand.Read(prefix[:]); err != nil {
		return "", fmt.Errorf("codec: random prefix: %w", err)
	}
	return c.EncryptWithPrefix(prefix, msg), nil
}

// EncryptWithPrefix encrypts msg with the given random prefix. It exists for
// tests and known-answer vectors: real replies use Encrypt. It returns ""
// when msg is 4 GiB or longer, which the length field cannot describe.
func (c *Cipher) EncryptWithPrefix(prefix [16]byte, msg []byte) string {
	if uint64(len(msg)) > math.MaxUint32 {
		return ""
	}
	size := headerLen + len(msg) + len(c.appID)
	pad := padBlock - size%padBlock
	buf := make([]byte, size+pad)
	copy(buf, prefix[:])
	binary.BigEndian.PutUint32(buf[prefixLen:], uint32(len(msg)))
	copy(buf[headerLen:], msg)
	copy(buf[headerLen+len(msg):], c.appID)
	for i := size; i < len(buf); i++ {
		buf[i] = byte(pad)
	}
	c.encryptCBC(buf)
	return base64.StdEncoding.EncodeToString(buf)
}

// EncryptReply encrypts plaintext, a reply already encoded in format f, and
// returns the whole encrypted reply body: the envelope with Encrypt, its
// MsgSignature under token, timestamp and nonce.
func (c *Cipher) EncryptReply(f Format, token string, plaintext []byte, timestamp int64, nonce string) ([]byte, error) {
	enc, err := c.Encrypt(plaintext)
	if err != nil {
		return nil, err
	}
	sig := Signature(token, strconv.FormatInt(timestamp, 10), nonce, enc)
	return EncodeEncryptedReply(f, enc, sig, timestamp, nonce), nil
}

// decryptCBC decrypts buf in place, from the last block to the first so
// that each block's predecessor is still ciphertext when it is needed.
func (c *Cipher) decryptCBC(buf []byte) {
	const bs = aes.BlockSize
	for i := len(buf) - bs; i >= 0; i -= bs {
		blk := buf[i : i+bs]
		c.block.Decrypt(blk, blk)
		prev := c.iv[:]
		if i > 0 {
			prev = buf[i-bs : i]
		}
		subtle.XORBytes(blk, blk, prev)
	}
}

// encryptCBC encrypts buf, a multiple of the block size, in place.
func (c *Cipher) encryptCBC(buf []byte) {
	const bs = aes.BlockSize
	prev := c.iv[:]
	for i := 0; i < len(buf); i += bs {
		blk := buf[i : i+bs]
		subtle.XORBytes(blk, blk, prev)
		c.block.Encrypt(blk, blk)
		prev = blk
	}
}
