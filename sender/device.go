package sender

import (
	"context"
	"fmt"
)

const pathDeviceSend = "/cgi-bin/message/device/subscribe/send"

// DeviceMessage is a device subscription message (hardwareDevice.send): a
// long-term message about one device to the users who subscribed to it.
type DeviceMessage struct {
	// ToOpenIDs are the recipients. Required.
	ToOpenIDs []string
	// SN is the device serial number. Required.
	SN string
	// ModelID is the device model id from the device access setup. Required.
	ModelID string
	// TemplateID is the device template id. Required.
	TemplateID string
	// Page is the page the card opens, if any.
	Page string
	// Data maps each keyword to its value; checked like SubscribeMessage's.
	Data map[string]string
	// MiniProgramState and Lang are as in SubscribeMessage.
	MiniProgramState string
	Lang             string
}

// SendDeviceSubscribe sends a device subscription message. The data is
// checked first, as in SendSubscribe; grants are not involved (device
// subscriptions are managed by WeChat).
//
// Docs: https://developers.weixin.qq.com/miniprogram/dev/OpenApiDoc/hardware-device/sendHardwareDeviceMessage.html
func (c *Client) SendDeviceSubscribe(ctx context.Context, m DeviceMessage) error {
	switch {
	case len(m.ToOpenIDs) == 0:
		return fmt.Errorf("%w: ToOpenIDs is empty", ErrInvalidMessage)
	case m.SN == "" || m.ModelID == "" || m.TemplateID == "":
		return fmt.Errorf("%w: SN, ModelID and TemplateID are required", ErrInvalidMessage)
	}
	if err := checkStateLang(m.MiniProgramState, m.Lang); err != nil {
		return err
	}
	data, err := checkData(m.Data, c.truncate)
	if err != nil {
		return err
	}
	values := make(map[string]TemplateValue, len(data))
	for k, v := range data {
		values[k] = TemplateValue{Value: v}
	}
	in := struct {
		ToOpenIDs        []string                 `json:"to_openid_list"`
		SN               string                   `json:"sn"`
		ModelID          string                   `json:"modelId"`
		TemplateID       string                   `json:"template_id"`
		Page             string                   `json:"page,omitempty"`
		MiniProgramState string                   `json:"miniprogram_state,omitempty"`
		Lang             string                   `json:"lang,omitempty"`
		Data             map[string]TemplateValue `json:"data"`
	}{m.ToOpenIDs, m.SN, m.ModelID, m.TemplateID, m.Page, m.MiniProgramState, m.Lang, values}
	return c.postJSON(ctx, pathDeviceSend, true, false, in, nil)
}
