package sender

import (
	"context"
	"fmt"
)

// Customer-service API paths.
const (
	pathCustomSend = "/cgi-bin/message/custom/send"
	pathTyping     = "/cgi-bin/message/custom/typing"
)

// Link is a customer-service link message.
type Link struct {
	Title       string `json:"title"`
	Description string `json:"description"`
	URL         string `json:"url"`
	// ThumbURL is a JPG or PNG picture (640×320 or 80×80 look best).
	ThumbURL string `json:"thumb_url"`
}

// MiniProgramPage is a customer-service mini-program card.
type MiniProgramPage struct {
	Title string `json:"title"`
	// PagePath is the page the card opens, with an optional query.
	PagePath string `json:"pagepath"`
	// ThumbMediaID is the cover, an image uploaded with UploadTempMedia
	// (520×416 looks best).
	ThumbMediaID string `json:"thumb_media_id"`
}

type customMessage struct {
	ToUser  string           `json:"touser"`
	MsgType string           `json:"msgtype"`
	Text    *customText      `json:"text,omitempty"`
	Image   *customImage     `json:"image,omitempty"`
	Link    *Link            `json:"link,omitempty"`
	Page    *MiniProgramPage `json:"miniprogrampage,omitempty"`
}

type customText struct {
	Content string `json:"content"`
}

type customImage struct {
	MediaID string `json:"media_id"`
}

// SendText sends a customer-service text message. WeChat allows 5 messages
// within 48 hours of the user's last message (45047 and 45015 otherwise,
// matching ErrRateLimited).
//
// Docs: https://developers.weixin.qq.com/miniprogram/dev/OpenApiDoc/kf-mgnt/kf-message/sendCustomMessage.html
func (c *Client) SendText(ctx context.Context, openID, content string) error {
	if content == "" {
		return fmt.Errorf("%w: text content is empty", ErrInvalidMessage)
	}
	return c.sendCustom(ctx, customMessage{ToUser: openID, MsgType: "text", Text: &customText{content}})
}

// SendImage sends an image uploaded with UploadTempMedia.
//
// Docs: https://developers.weixin.qq.com/miniprogram/dev/OpenApiDoc/kf-mgnt/kf-message/sendCustomMessage.html
func (c *Client) SendImage(ctx context.Context, openID, mediaID string) error {
	if mediaID == "" {
		return fmt.Errorf("%w: image media id is empty", ErrInvalidMessage)
	}
	return c.sendCustom(ctx, customMessage{ToUser: openID, MsgType: "image", Image: &customImage{mediaID}})
}

// SendLink sends a link card.
//
// Docs: https://developers.weixin.qq.com/miniprogram/dev/OpenApiDoc/kf-mgnt/kf-message/sendCustomMessage.html
func (c *Client) SendLink(ctx context.Context, openID string, l Link) error {
	if l.Title == "" || l.URL == "" {
		return fmt.Errorf("%w: link title or url is empty", ErrInvalidMessage)
	}
	return c.sendCustom(ctx, customMessage{ToUser: openID, MsgType: "link", Link: &l})
}

// SendMiniProgramPage sends a mini-program card.
//
// Docs: https://developers.weixin.qq.com/miniprogram/dev/OpenApiDoc/kf-mgnt/kf-message/sendCustomMessage.html
func (c *Client) SendMiniProgramPage(ctx context.Context, openID string, p MiniProgramPage) error {
	if p.PagePath == "" || p.ThumbMediaID == "" {
		return fmt.Errorf("%w: mini-program page path or thumb media id is empty", ErrInvalidMessage)
	}
	return c.sendCustom(ctx, customMessage{ToUser: openID, MsgType: "miniprogrampage", Page: &p})
}

func (c *Client) sendCustom(ctx context.Context, m customMessage) error {
	if m.ToUser == "" {
		return fmt.Errorf("%w: openid is empty", ErrInvalidMessage)
	}
	return c.postJSON(ctx, pathCustomSend, true, false, m, nil)
}

// SetTyping shows (typing true) or hides the "typing…" state to the user in
// the customer-service chat. It works only within 30 s of the user's last
// message and lasts 15 s.
//
// Docs: https://developers.weixin.qq.com/miniprogram/dev/OpenApiDoc/kf-mgnt/kf-message/setTyping.html
func (c *Client) SetTyping(ctx context.Context, openID string, typing bool) error {
	if openID == "" {
		return fmt.Errorf("%w: openid is empty", ErrInvalidMessage)
	}
	cmd := "CancelTyping"
	if typing {
		cmd = "Typing"
	}
	in := struct {
		ToUser  string `json:"touser"`
		Command string `json:"command"`
	}{openID, cmd}
	return c.postJSON(ctx, pathTyping, true, true, in, nil)
}
