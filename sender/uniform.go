package sender

import (
	"context"
	"fmt"
)

const pathUniformSend = "/cgi-bin/message/wxopen/template/uniform_send"

// UniformMessage is a template message of the official account bound to the
// mini-program, sent through the mini-program's uniform_send API to a user
// identified by either app's openid. (The mini-program part of the API is
// retired.)
type UniformMessage struct {
	// ToUser is the user's openid in the mini-program or the account.
	ToUser string
	// MP is the official-account template message.
	MP OfficialAccountMessage
}

// OfficialAccountMessage is the mp_template_msg part of a UniformMessage.
type OfficialAccountMessage struct {
	// AppID is the official account's appid. Required.
	AppID string `json:"appid"`
	// TemplateID is the account's template id. Required.
	TemplateID string `json:"template_id"`
	// URL is the page the message opens, if any.
	URL string `json:"url,omitempty"`
	// MiniProgram, when set, makes the message open the mini-program.
	MiniProgram *MiniProgramLink `json:"miniprogram,omitempty"`
	// Data maps each template keyword to its value and optional color.
	Data map[string]TemplateValue `json:"data"`
}

// MiniProgramLink names a mini-program page.
type MiniProgramLink struct {
	AppID    string `json:"appid"`
	PagePath string `json:"pagepath"`
}

// TemplateValue is a keyword value of an official-account template.
type TemplateValue struct {
	Value string `json:"value"`
	// Color is an optional #rrggbb color.
	Color string `json:"color,omitempty"`
}

// UniformSend sends an official-account template message. It is a delivery,
// so it follows SendSubscribe's retry rules (without grants).
//
// Docs: https://developers.weixin.qq.com/miniprogram/dev/OpenApiDoc/mp-message-management/uniform-message/sendUniformMessage.html
func (c *Client) UniformSend(ctx context.Context, m UniformMessage) error {
	switch {
	case m.ToUser == "":
		return fmt.Errorf("%w: ToUser is empty", ErrInvalidMessage)
	case m.MP.AppID == "":
		return fmt.Errorf("%w: MP.AppID is empty", ErrInvalidMessage)
	case m.MP.TemplateID == "":
		return fmt.Errorf("%w: MP.TemplateID is empty", ErrInvalidMessage)
	}
	in := struct {
		ToUser string                  `json:"touser"`
		MP     *OfficialAccountMessage `json:"mp_template_msg"`
	}{m.ToUser, &m.MP}
	return c.postJSON(ctx, pathUniformSend, true, false, in, nil)
}
