// Package pushtest plays WeChat's side of the callback route, for tests and
// local development: it builds pushes as WeChat sends them (XML or JSON,
// signed, and in safe mode encrypted under the EncodingAESKey) and the GET
// URL check, in the spirit of net/http/httptest.
//
// Use Request to call an Endpoint directly, or Post to send a push over
// HTTP to a mounted route (example/wxpush does that from the command line).
package pushtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/wxsub/wxsub/codec"
	"github.com/wxsub/wxsub/middleware"
)

// Config describes the mini-program whose pushes a Pusher builds.
type Config struct {
	// Token is the callback token. Required.
	Token string
	// EncodingAESKey and AppID, when both set, make every push a safe-mode
	// push: encrypted, in an envelope, signed with msg_signature.
	EncodingAESKey string
	AppID          string
	// Compatible, with a key, puts the plaintext fields next to Encrypt in
	// the body, as WeChat's compatible mode does.
	Compatible bool
	// Format is the body format; the zero value means XML.
	Format codec.Format
	// NumericJSON writes the numbers of JSON pushes as JSON numbers
	// (EncodeNumeric) instead of the strings of WeChat's documented
	// samples (Encode). WeChat sends both forms.
	NumericJSON bool
	// Now is the clock for timestamps; nil means time.Now.
	Now func() time.Time
}

// Pusher builds signed pushes for one mini-program. It is safe for
// concurrent use.
type Pusher struct {
	cfg    Config
	cipher *codec.Cipher
}

// New checks cfg and returns a Pusher.
func New(cfg Config) (*Pusher, error) {
	if cfg.Token == "" {
		return nil, errors.New("pushtest: Config.Token is required")
	}
	if cfg.Format == 0 {
		cfg.Format = codec.XML
	}
	if cfg.Format != codec.XML && cfg.Format != codec.JSON {
		return nil, fmt.Errorf("pushtest: Config.Format %d is neither XML nor JSON", cfg.Format)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	p := &Pusher{cfg: cfg}
	if cfg.EncodingAESKey != "" || cfg.AppID != "" {
		c, err := codec.NewCipher(cfg.EncodingAESKey, cfg.AppID)
		if err != nil {
			return nil, fmt.Errorf("pushtest: Config.EncodingAESKey/AppID: %w", err)
		}
		p.cipher = c
	}
	return p, nil
}

// Encrypted reports whether the Pusher builds safe-mode pushes.
func (p *Pusher) Encrypted() bool { return p.cipher != nil }

// Request builds the signed POST that WeChat would send for m.
func (p *Pusher) Request(m *codec.Message) (middleware.Request, error) {
	ts := strconv.FormatInt(p.cfg.Now().Unix(), 10)
	nonce, err := newNonce()
	if err != nil {
		return middleware.Request{}, err
	}
	q := url.Values{}
	q.Set("timestamp", ts)
	q.Set("nonce", nonce)
	q.Set("signature", codec.Signature(p.cfg.Token, ts, nonce))
	if m.FromUserName != "" {
		q.Set("openid", m.FromUserName)
	}
	body := encode(p.cfg.Format, m, p.cfg.NumericJSON)
	if p.cipher != nil {
		encrypt, err := p.cipher.Encrypt(body)
		if err != nil {
			return middleware.Request{}, fmt.Errorf("pushtest: encrypting: %w", err)
		}
		env := &codec.Message{ToUserName: m.ToUserName, Encrypt: encrypt}
		if p.cfg.Compatible {
			withEncrypt := *m
			withEncrypt.Encrypt = encrypt
			env = &withEncrypt
		}
		body = encode(p.cfg.Format, env, p.cfg.NumericJSON)
		q.Set("encrypt_type", "aes")
		q.Set("msg_signature", codec.Signature(p.cfg.Token, ts, nonce, encrypt))
	}
	return middleware.Request{Method: http.MethodPost, RawQuery: q.Encode(), Body: body}, nil
}

// URLCheck builds WeChat's GET URL check carrying echostr.
func (p *Pusher) URLCheck(echostr string) middleware.Request {
	ts := strconv.FormatInt(p.cfg.Now().Unix(), 10)
	nonce, err := newNonce()
	if err != nil {
		nonce = "1"
	}
	q := url.Values{}
	q.Set("timestamp", ts)
	q.Set("nonce", nonce)
	q.Set("echostr", echostr)
	q.Set("signature", codec.Signature(p.cfg.Token, ts, nonce))
	return middleware.Request{Method: http.MethodGet, RawQuery: q.Encode()}
}

// Response is a callback route's answer to a push sent over HTTP.
type Response struct {
	Status int
	Body   []byte
}

// Post sends m to the callback route at rawURL, as WeChat would, and
// returns the route's answer.
func (p *Pusher) Post(ctx context.Context, c *http.Client, rawURL string, m *codec.Message) (Response, error) {
	req, err := p.Request(m)
	if err != nil {
		return Response{}, err
	}
	return Do(ctx, c, rawURL, req)
}

// Do sends req (from Request or URLCheck) to the route at rawURL. The
// query is appended to any query rawURL already has.
func Do(ctx context.Context, c *http.Client, rawURL string, req middleware.Request) (Response, error) {
	if c == nil {
		c = http.DefaultClient
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return Response{}, fmt.Errorf("pushtest: %w", err)
	}
	if u.RawQuery != "" {
		u.RawQuery += "&" + req.RawQuery
	} else {
		u.RawQuery = req.RawQuery
	}
	var body io.Reader
	if req.Body != nil {
		body = bytes.NewReader(req.Body)
	}
	hr, err := http.NewRequestWithContext(ctx, req.Method, u.String(), body)
	if err != nil {
		return Response{}, fmt.Errorf("pushtest: %w", err)
	}
	if req.Body != nil {
		// WeChat sends text/xml even for JSON bodies; routes must not care.
		hr.Header.Set("Content-Type", "text/xml")
	}
	resp, err := c.Do(hr)
	if err != nil {
		return Response{}, fmt.Errorf("pushtest: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return Response{}, fmt.Errorf("pushtest: reading the answer: %w", err)
	}
	return Response{Status: resp.StatusCode, Body: b}, nil
}

// DecryptReply opens an encrypted passive reply from a safe-mode route and
// returns its plaintext, after checking its msg_signature.
func (p *Pusher) DecryptReply(body []byte) ([]byte, error) {
	if p.cipher == nil {
		return nil, errors.New("pushtest: DecryptReply needs an EncodingAESKey")
	}
	var env codec.Message
	if err := codec.Decode(body, &env); err != nil {
		return nil, fmt.Errorf("pushtest: %w", err)
	}
	fields, err := codec.Fields(&env)
	if err != nil {
		return nil, fmt.Errorf("pushtest: %w", err)
	}
	if !codec.VerifyMsgSignature(p.cfg.Token, fields["TimeStamp"], fields["Nonce"], env.Encrypt, fields["MsgSignature"]) {
		return nil, errors.New("pushtest: the reply's MsgSignature does not match")
	}
	return p.cipher.Decrypt(env.Encrypt)
}

func newNonce() (string, error) {
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("pushtest: nonce: %w", err)
	}
	n := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	return strconv.FormatUint(uint64(n%1_000_000_000), 10), nil
}
