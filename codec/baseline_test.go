package codec

import "encoding/xml"

// The types in this file are the baselines the benchmarks and the
// differential fuzz target compare against: the same fields, decoded by
// encoding/xml and by goccy/go-json without any shape tolerance.

// stdXMLMessage is Message as encoding/xml would read it: every field our
// scanner reads, under the same element names.
type stdXMLMessage struct {
	XMLName      xml.Name     `xml:"xml"`
	ToUserName   string       `xml:"ToUserName"`
	FromUserName string       `xml:"FromUserName"`
	CreateTime   int64        `xml:"CreateTime"`
	MsgType      string       `xml:"MsgType"`
	Event        string       `xml:"Event"`
	MsgID        string       `xml:"MsgID"`
	MsgId        string       `xml:"MsgId"`
	Content      string       `xml:"Content"`
	PicURL       string       `xml:"PicUrl"`
	MediaID      string       `xml:"MediaId"`
	Title        string       `xml:"Title"`
	AppID        string       `xml:"AppId"`
	PagePath     string       `xml:"PagePath"`
	ThumbURL     string       `xml:"ThumbUrl"`
	ThumbMediaID string       `xml:"ThumbMediaId"`
	SessionFrom  string       `xml:"SessionFrom"`
	Encrypt      string       `xml:"Encrypt"`
	Popup        []stdXMLItem `xml:"SubscribeMsgPopupEvent>List"`
	Change       []stdXMLItem `xml:"SubscribeMsgChangeEvent>List"`
	Sent         []stdXMLItem `xml:"SubscribeMsgSentEvent>List"`
	List         []stdXMLItem `xml:"List"`
}

type stdXMLItem struct {
	TemplateID  string `xml:"TemplateId"`
	Status      string `xml:"SubscribeStatusString"`
	PopupScene  int64  `xml:"PopupScene"`
	MsgID       string `xml:"MsgID"`
	MsgId       string `xml:"MsgId"`
	ErrorCode   int64  `xml:"ErrorCode"`
	ErrorStatus string `xml:"ErrorStatus"`
}

// flatJSONMessage has the fields DecodeJSON reads, as a plain struct for
// one known shape (items in an array under the popup event key, numbers as
// numbers), the way a program that trusts that shape would decode it.
type flatJSONMessage struct {
	ToUserName             string         `json:"ToUserName"`
	FromUserName           string         `json:"FromUserName"`
	CreateTime             int64          `json:"CreateTime"`
	MsgType                string         `json:"MsgType"`
	Event                  string         `json:"Event"`
	MsgID                  string         `json:"MsgId"`
	Content                string         `json:"Content"`
	PicURL                 string         `json:"PicUrl"`
	MediaID                string         `json:"MediaId"`
	Title                  string         `json:"Title"`
	AppID                  string         `json:"AppId"`
	PagePath               string         `json:"PagePath"`
	ThumbURL               string         `json:"ThumbUrl"`
	ThumbMediaID           string         `json:"ThumbMediaId"`
	SessionFrom            string         `json:"SessionFrom"`
	Encrypt                string         `json:"Encrypt"`
	SubscribeMsgPopupEvent []flatJSONItem `json:"SubscribeMsgPopupEvent"`
}

type flatJSONItem struct {
	TemplateID            string `json:"TemplateId"`
	SubscribeStatusString string `json:"SubscribeStatusString"`
	PopupScene            int64  `json:"PopupScene"`
	MsgID                 string `json:"MsgID"`
	ErrorCode             int64  `json:"ErrorCode"`
	ErrorStatus           string `json:"ErrorStatus"`
}
