package sendertest

import (
	"net/http"

	"github.com/goccy/go-json"
)

func (s *Server) handleUniformSend(w http.ResponseWriter, r *http.Request, body []byte) {
	var in struct {
		ToUser string `json:"touser"`
		MP     *struct {
			AppID      string          `json:"appid"`
			TemplateID string          `json:"template_id"`
			Data       json.RawMessage `json:"data"`
		} `json:"mp_template_msg"`
	}
	switch {
	case json.Unmarshal(body, &in) != nil || in.MP == nil:
		writeError(w, 47001, "")
	case in.ToUser == "":
		writeError(w, 40003, "")
	case in.MP.AppID == "":
		writeError(w, 40013, "")
	case in.MP.TemplateID == "":
		writeError(w, 40037, "")
	default:
		writeOK(w)
	}
}

func (s *Server) handleCustomSend(w http.ResponseWriter, r *http.Request, body []byte) {
	var in struct {
		ToUser  string `json:"touser"`
		MsgType string `json:"msgtype"`
		Text    *struct {
			Content string `json:"content"`
		} `json:"text"`
		Image *struct {
			MediaID string `json:"media_id"`
		} `json:"image"`
		Link *struct {
			Title string `json:"title"`
			URL   string `json:"url"`
		} `json:"link"`
		Page *struct {
			PagePath     string `json:"pagepath"`
			ThumbMediaID string `json:"thumb_media_id"`
		} `json:"miniprogrampage"`
	}
	if json.Unmarshal(body, &in) != nil {
		writeError(w, 47001, "")
		return
	}
	if in.ToUser == "" {
		writeError(w, 40003, "")
		return
	}
	var ok bool
	switch in.MsgType {
	case "text":
		ok = in.Text != nil && in.Text.Content != ""
	case "image":
		ok = in.Image != nil && s.hasMedia(in.Image.MediaID)
		if in.Image != nil && !ok {
			writeError(w, 40007, "")
			return
		}
	case "link":
		ok = in.Link != nil && in.Link.Title != "" && in.Link.URL != ""
	case "miniprogrampage":
		ok = in.Page != nil && in.Page.PagePath != "" && in.Page.ThumbMediaID != ""
	}
	if !ok {
		writeError(w, 47001, "")
		return
	}
	writeOK(w)
}

func (s *Server) handleTyping(w http.ResponseWriter, r *http.Request, body []byte) {
	var in struct {
		ToUser  string `json:"touser"`
		Command string `json:"command"`
	}
	switch {
	case json.Unmarshal(body, &in) != nil:
		writeError(w, 47001, "")
	case in.ToUser == "":
		writeError(w, 40003, "")
	case in.Command != "Typing" && in.Command != "CancelTyping":
		writeError(w, 40097, "")
	default:
		writeOK(w)
	}
}

func (s *Server) handleDeviceSend(w http.ResponseWriter, r *http.Request, body []byte) {
	var in struct {
		ToOpenIDs  []string        `json:"to_openid_list"`
		SN         string          `json:"sn"`
		ModelID    string          `json:"modelId"`
		TemplateID string          `json:"template_id"`
		Data       json.RawMessage `json:"data"`
	}
	switch {
	case json.Unmarshal(body, &in) != nil:
		writeError(w, 47001, "")
	case len(in.ToOpenIDs) == 0:
		writeError(w, 40003, "")
	case in.TemplateID == "":
		writeError(w, 40037, "")
	case in.SN == "" || in.ModelID == "":
		writeError(w, 40097, "")
	default:
		writeOK(w)
	}
}
