package pushtest

import "github.com/wxsub/wxsub/codec"

// Popup is a subscribe_msg_popup_event: openID answered the popup for each
// template with the given status (accept, reject, acceptWithAudio, ...).
func Popup(ghID, openID string, createTime int64, statusByTemplate ...[2]string) *codec.Message {
	m := event(ghID, openID, createTime, codec.EventSubscribePopup)
	for _, ts := range statusByTemplate {
		m.Items = append(m.Items, codec.SubscribeItem{TemplateID: ts[0], Status: ts[1]})
	}
	return m
}

// Change is a subscribe_msg_change_event: openID changed each template's
// setting to the given status (today WeChat pushes only reject).
func Change(ghID, openID string, createTime int64, statusByTemplate ...[2]string) *codec.Message {
	m := event(ghID, openID, createTime, codec.EventSubscribeChange)
	for _, ts := range statusByTemplate {
		m.Items = append(m.Items, codec.SubscribeItem{TemplateID: ts[0], Status: ts[1]})
	}
	return m
}

// Sent is a subscribe_msg_sent_event with one item: the final result of
// the send that returned msgID. errorCode 0 means delivered.
func Sent(ghID, openID string, createTime int64, templateID, msgID string, errorCode int64) *codec.Message {
	m := event(ghID, openID, createTime, codec.EventSubscribeSent)
	status := "success"
	if errorCode != 0 {
		status = "fail"
	}
	m.Items = []codec.SubscribeItem{{TemplateID: templateID, MsgID: msgID, ErrorCode: errorCode, ErrorStatus: status}}
	return m
}

// Text is a customer-service text message.
func Text(ghID, openID string, createTime int64, msgID, content string) *codec.Message {
	return &codec.Message{ToUserName: ghID, FromUserName: openID, CreateTime: createTime,
		MsgType: codec.MsgTypeText, MsgID: msgID, Content: content}
}

// Image is a customer-service image message.
func Image(ghID, openID string, createTime int64, msgID, picURL, mediaID string) *codec.Message {
	return &codec.Message{ToUserName: ghID, FromUserName: openID, CreateTime: createTime,
		MsgType: codec.MsgTypeImage, MsgID: msgID, PicURL: picURL, MediaID: mediaID}
}

// MiniProgramPage is a customer-service mini-program card message.
func MiniProgramPage(ghID, openID string, createTime int64, msgID, title, appID, pagePath string) *codec.Message {
	return &codec.Message{ToUserName: ghID, FromUserName: openID, CreateTime: createTime,
		MsgType: codec.MsgTypeMiniProgramPage, MsgID: msgID, Title: title, AppID: appID, PagePath: pagePath}
}

// EnterSession is a user_enter_tempsession event.
func EnterSession(ghID, openID string, createTime int64, sessionFrom string) *codec.Message {
	m := event(ghID, openID, createTime, codec.EventEnterSession)
	m.SessionFrom = sessionFrom
	return m
}

func event(ghID, openID string, createTime int64, name string) *codec.Message {
	return &codec.Message{ToUserName: ghID, FromUserName: openID, CreateTime: createTime,
		MsgType: codec.MsgTypeEvent, Event: name}
}
