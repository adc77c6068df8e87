package sendertest

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/goccy/go-json"
)

// Template is a private template the server lists, in WeChat's JSON shape.
type Template struct {
	ID           string        `json:"priTmplId"`
	Title        string        `json:"title"`
	Content      string        `json:"content"`
	Example      string        `json:"example"`
	Type         int           `json:"type"`
	KeywordEnums []KeywordEnum `json:"keywordEnumValueList,omitempty"`
}

// KeywordEnum lists the values of an enum keyword.
type KeywordEnum struct {
	Keyword string   `json:"keywordCode"`
	Values  []string `json:"enumValueList"`
}

// Templates returns the private templates, including added ones.
func (s *Server) Templates() []Template {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Template(nil), s.templates...)
}

// hasTemplate reports a private template id; s.mu is held.
func (s *Server) hasTemplate(id string) bool {
	for _, t := range s.templates {
		if t.ID == id {
			return true
		}
	}
	return false
}

// The public library the fake serves: two categories, three titles.
type publicTitle struct {
	TID        int    `json:"tid"`
	Title      string `json:"title"`
	Type       int    `json:"type"`
	CategoryID string `json:"categoryId"`
}

type publicKeyword struct {
	KID     int    `json:"kid"`
	Name    string `json:"name"`
	Example string `json:"example"`
	Rule    string `json:"rule"`
}

type category struct {
	ID   int    `json:"id"`
	Name string `json:"name"`
}

func categories() []category { return []category{{616, "公交"}, {627, "名片"}} }

func publicTitles() []publicTitle {
	return []publicTitle{
		{99, "付款成功通知", 2, "616"},
		{100, "乘车提醒", 2, "616"},
		{101, "名片交换通知", 2, "627"},
	}
}

func publicKeywords(tid int) []publicKeyword {
	switch tid {
	case 99:
		return []publicKeyword{{1, "物品名称", "地铁票", "thing"}, {2, "支付金额", "¥5.00", "amount"}, {3, "支付时间", "2024年10月1日 15:01", "time"}}
	case 100:
		return []publicKeyword{{1, "线路", "1号线", "thing"}, {2, "到站时间", "15:01", "time"}}
	case 101:
		return []publicKeyword{{1, "姓名", "张三", "name"}, {2, "电话", "+86-0766-66888866", "phone_number"}}
	}
	return nil
}

func (s *Server) handleListTemplates(w http.ResponseWriter, r *http.Request, _ []byte) {
	s.mu.Lock()
	data := append([]Template{}, s.templates...)
	s.mu.Unlock()
	writeJSON(w, struct {
		errorAnswer
		Data []Template `json:"data"`
	}{errorAnswer{0, "ok"}, data})
}

func (s *Server) handleAddTemplate(w http.ResponseWriter, r *http.Request, body []byte) {
	var in struct {
		TID       string `json:"tid"`
		KidList   []int  `json:"kidList"`
		SceneDesc string `json:"sceneDesc"`
	}
	if json.Unmarshal(body, &in) != nil {
		writeError(w, 47001, "")
		return
	}
	tid, _ := strconv.Atoi(in.TID)
	var title *publicTitle
	for _, t := range publicTitles() {
		if t.TID == tid {
			title = &t
		}
	}
	kws := publicKeywords(tid)
	if title == nil || len(in.KidList) == 0 {
		writeError(w, 40097, "")
		return
	}
	var content []string
	for _, kid := range in.KidList {
		if kid < 1 || kid > len(kws) {
			writeError(w, 40097, "")
			return
		}
		k := kws[kid-1]
		content = append(content, k.Name+":{{"+k.Rule+strconv.Itoa(kid)+".DATA}}")
	}
	s.mu.Lock()
	s.nextTemplate++
	id := "sendertest-tmpl-" + strconv.Itoa(s.nextTemplate)
	s.templates = append(s.templates, Template{
		ID: id, Title: title.Title, Content: strings.Join(content, "\n"), Type: title.Type,
	})
	s.mu.Unlock()
	writeJSON(w, struct {
		errorAnswer
		ID string `json:"priTmplId"`
	}{errorAnswer{0, "ok"}, id})
}

func (s *Server) handleDeleteTemplate(w http.ResponseWriter, r *http.Request, body []byte) {
	var in struct {
		ID string `json:"priTmplId"`
	}
	if json.Unmarshal(body, &in) != nil {
		writeError(w, 47001, "")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, t := range s.templates {
		if t.ID == in.ID {
			s.templates = append(s.templates[:i:i], s.templates[i+1:]...)
			writeOK(w)
			return
		}
	}
	writeError(w, 40037, "")
}

func (s *Server) handleCategories(w http.ResponseWriter, r *http.Request, _ []byte) {
	writeJSON(w, struct {
		errorAnswer
		Data []category `json:"data"`
	}{errorAnswer{0, "ok"}, categories()})
}

func (s *Server) handlePublicTitles(w http.ResponseWriter, r *http.Request, _ []byte) {
	q := r.URL.Query()
	start, err1 := strconv.Atoi(q.Get("start"))
	limit, err2 := strconv.Atoi(q.Get("limit"))
	if err1 != nil || err2 != nil || start < 0 || limit < 1 || limit > 30 || q.Get("ids") == "" {
		writeError(w, 40097, "")
		return
	}
	want := map[string]bool{}
	for _, id := range strings.Split(q.Get("ids"), ",") {
		want[id] = true
	}
	var all []publicTitle
	for _, t := range publicTitles() {
		if want[t.CategoryID] {
			all = append(all, t)
		}
	}
	page := []publicTitle{}
	if start < len(all) {
		page = all[start:min(len(all), start+limit)]
	}
	writeJSON(w, struct {
		errorAnswer
		Count int           `json:"count"`
		Data  []publicTitle `json:"data"`
	}{errorAnswer{0, "ok"}, len(all), page})
}

func (s *Server) handlePublicKeywords(w http.ResponseWriter, r *http.Request, _ []byte) {
	tid, err := strconv.Atoi(r.URL.Query().Get("tid"))
	kws := publicKeywords(tid)
	if err != nil || kws == nil {
		writeError(w, 40097, "")
		return
	}
	writeJSON(w, struct {
		errorAnswer
		Count int             `json:"count"`
		Data  []publicKeyword `json:"data"`
	}{errorAnswer{0, "ok"}, len(kws), kws})
}
