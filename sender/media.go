package sender

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"time"
)

// Temp media API paths.
const (
	pathMediaUpload = "/cgi-bin/media/upload"
	pathMediaGet    = "/cgi-bin/media/get"
)

// MaxUploadSize bounds what UploadTempMedia reads from its reader.
const MaxUploadSize = 10 << 20

// Media is an uploaded temporary media file. WeChat keeps it for 3 days.
type Media struct {
	ID        string
	Type      string
	CreatedAt time.Time
}

// UploadTempMedia uploads an image for customer-service messages (SendImage,
// SendMiniProgramPage's cover) and returns its media id. It reads r to the
// end (at most MaxUploadSize bytes) before sending, so that a failed upload
// can be repeated.
//
// Docs: https://developers.weixin.qq.com/miniprogram/dev/OpenApiDoc/kf-mgnt/kf-message/uploadTempMedia.html
func (c *Client) UploadTempMedia(ctx context.Context, filename string, r io.Reader) (Media, error) {
	if filename == "" {
		return Media{}, fmt.Errorf("%w: UploadTempMedia needs a file name", ErrInvalidMessage)
	}
	data, err := io.ReadAll(io.LimitReader(r, MaxUploadSize+1))
	if err != nil {
		return Media{}, fmt.Errorf("wxsub/sender: reading the media: %w", err)
	}
	if len(data) > MaxUploadSize {
		return Media{}, fmt.Errorf("%w: media larger than %d bytes", ErrInvalidMessage, MaxUploadSize)
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	h := make(textproto.MIMEHeader)
	h.Set("Content-Disposition", multipart.FileContentDisposition("media", filename))
	h.Set("Content-Type", http.DetectContentType(data))
	part, err := mw.CreatePart(h)
	if err != nil {
		return Media{}, fmt.Errorf("wxsub/sender: encoding the media: %w", err)
	}
	_, _ = part.Write(data)
	if err := mw.Close(); err != nil {
		return Media{}, fmt.Errorf("wxsub/sender: encoding the media: %w", err)
	}
	rb := getReqBuf()
	defer rb.release()
	rb.b = append(rb.b, body.Bytes()...)
	var out struct {
		apiStatus
		Type      string `json:"type"`
		MediaID   string `json:"media_id"`
		CreatedAt int64  `json:"created_at"`
	}
	// A repeated upload only leaves an unused copy behind, so it is safe
	// to repeat.
	err = c.call(ctx, &apiRequest{
		method: http.MethodPost, path: pathMediaUpload, query: "type=image", body: rb,
		contentType: mw.FormDataContentType(), auth: true, idempotent: true,
	}, &out)
	if err != nil {
		return Media{}, err
	}
	return Media{ID: out.MediaID, Type: out.Type, CreatedAt: time.Unix(out.CreatedAt, 0)}, nil
}

// GetTempMedia downloads a temporary media file (such as the MediaId of an
// image a user sent to customer service) and returns its bytes and content
// type. A JSON answer is WeChat's error and is returned as an *APIError.
//
// Docs: https://developers.weixin.qq.com/miniprogram/dev/OpenApiDoc/kf-mgnt/kf-message/getTempMedia.html
func (c *Client) GetTempMedia(ctx context.Context, mediaID string) (data []byte, contentType string, err error) {
	if mediaID == "" {
		return nil, "", fmt.Errorf("%w: GetTempMedia needs a media id", ErrInvalidMessage)
	}
	var media mediaAnswer
	err = c.call(ctx, &apiRequest{
		method: http.MethodGet, path: pathMediaGet, query: "media_id=" + url.QueryEscape(mediaID),
		auth: true, idempotent: true, media: &media,
	}, nil)
	if err != nil {
		return nil, "", err
	}
	if !media.ok {
		return nil, "", fmt.Errorf("wxsub/sender: %s: the answer holds no media", pathMediaGet)
	}
	return media.data, media.contentType, nil
}
