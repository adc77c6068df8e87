package sender

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// Template API paths.
const (
	pathListTemplates  = "/wxaapi/newtmpl/gettemplate"
	pathAddTemplate    = "/wxaapi/newtmpl/addtemplate"
	pathDeleteTemplate = "/wxaapi/newtmpl/deltemplate"
	pathCategories     = "/wxaapi/newtmpl/getcategory"
	pathPublicTitles   = "/wxaapi/newtmpl/getpubtemplatetitles"
	pathPublicKeywords = "/wxaapi/newtmpl/getpubtemplatekeywords"
)

// Template kinds, as Template.Type and PublicTemplate.Type report them.
const (
	TemplateOneTime  = 2
	TemplateLongTerm = 3
)

// Template is one of the mini-program's private templates.
type Template struct {
	// ID is the private template id (priTmplId) that sends use.
	ID      string `json:"priTmplId"`
	Title   string `json:"title"`
	Content string `json:"content"`
	Example string `json:"example"`
	// Type is TemplateOneTime or TemplateLongTerm.
	Type int `json:"type"`
	// KeywordEnums lists the allowed values of enum keywords.
	KeywordEnums []KeywordEnum `json:"keywordEnumValueList"`
}

// KeywordEnum is the set of values an enum keyword accepts.
type KeywordEnum struct {
	Keyword string   `json:"keywordCode"`
	Values  []string `json:"enumValueList"`
}

// Category is a service category of the mini-program.
type Category struct {
	ID   int    `json:"id"`
	Name string `json:"name"`
}

// PublicTemplate is a title in WeChat's public template library.
type PublicTemplate struct {
	// TID is the title id that AddTemplate takes.
	TID        string
	Title      string
	Type       int
	CategoryID string
}

// PublicTemplates is one page of public template titles.
type PublicTemplates struct {
	// Count is the number of titles in all pages.
	Count     int
	Templates []PublicTemplate
}

// PublicKeyword is a keyword a public template title offers.
type PublicKeyword struct {
	// KID is the keyword id that AddTemplate takes.
	KID     int    `json:"kid"`
	Name    string `json:"name"`
	Example string `json:"example"`
	// Rule is the keyword type, such as "thing".
	Rule string `json:"rule"`
}

// ListTemplates returns the mini-program's private templates.
//
// Docs: https://developers.weixin.qq.com/miniprogram/dev/OpenApiDoc/mp-message-management/subscribe-message/getMessageTemplateList.html
func (c *Client) ListTemplates(ctx context.Context) ([]Template, error) {
	var out struct {
		apiStatus
		Data []Template `json:"data"`
	}
	if err := c.get(ctx, pathListTemplates, "", &out); err != nil {
		return nil, err
	}
	return out.Data, nil
}

// AddTemplate adds the public title tid, with the keywords keywordIDs in
// that order, to the private templates and returns the new template id.
// sceneDesc describes where the template is used.
//
// Docs: https://developers.weixin.qq.com/miniprogram/dev/OpenApiDoc/mp-message-management/subscribe-message/addMessageTemplate.html
func (c *Client) AddTemplate(ctx context.Context, tid string, keywordIDs []int, sceneDesc string) (string, error) {
	if tid == "" || len(keywordIDs) == 0 {
		return "", fmt.Errorf("%w: AddTemplate needs a tid and at least one keyword id", ErrInvalidMessage)
	}
	in := struct {
		TID       string `json:"tid"`
		KidList   []int  `json:"kidList"`
		SceneDesc string `json:"sceneDesc,omitempty"`
	}{tid, keywordIDs, sceneDesc}
	var out struct {
		apiStatus
		ID string `json:"priTmplId"`
	}
	if err := c.postJSON(ctx, pathAddTemplate, true, false, in, &out); err != nil {
		return "", err
	}
	return out.ID, nil
}

// DeleteTemplate deletes a private template.
//
// Docs: https://developers.weixin.qq.com/miniprogram/dev/OpenApiDoc/mp-message-management/subscribe-message/deleteMessageTemplate.html
func (c *Client) DeleteTemplate(ctx context.Context, templateID string) error {
	if templateID == "" {
		return fmt.Errorf("%w: DeleteTemplate needs a template id", ErrInvalidMessage)
	}
	in := struct {
		ID string `json:"priTmplId"`
	}{templateID}
	return c.postJSON(ctx, pathDeleteTemplate, true, false, in, nil)
}

// Categories returns the mini-program's service categories, which select
// the public titles it may use.
//
// Docs: https://developers.weixin.qq.com/miniprogram/dev/OpenApiDoc/mp-message-management/subscribe-message/getCategory.html
func (c *Client) Categories(ctx context.Context) ([]Category, error) {
	var out struct {
		apiStatus
		Data []Category `json:"data"`
	}
	if err := c.get(ctx, pathCategories, "", &out); err != nil {
		return nil, err
	}
	return out.Data, nil
}

// MaxTitlesPerPage bounds the limit of PublicTemplateTitles.
const MaxTitlesPerPage = 30

// PublicTemplateTitles returns a page of the public titles in the given
// categories, starting at offset start, with at most limit (1 to 30) titles.
//
// Docs: https://developers.weixin.qq.com/miniprogram/dev/OpenApiDoc/mp-message-management/subscribe-message/getPubTemplateTitleList.html
func (c *Client) PublicTemplateTitles(ctx context.Context, categoryIDs []int, start, limit int) (PublicTemplates, error) {
	if len(categoryIDs) == 0 || start < 0 || limit < 1 || limit > MaxTitlesPerPage {
		return PublicTemplates{}, fmt.Errorf("%w: PublicTemplateTitles needs category ids, start ≥ 0 and 1 ≤ limit ≤ %d",
			ErrInvalidMessage, MaxTitlesPerPage)
	}
	ids := make([]string, len(categoryIDs))
	for i, id := range categoryIDs {
		ids[i] = strconv.Itoa(id)
	}
	q := url.Values{}
	q.Set("ids", strings.Join(ids, ","))
	q.Set("start", strconv.Itoa(start))
	q.Set("limit", strconv.Itoa(limit))
	var out struct {
		apiStatus
		Count int `json:"count"`
		Data  []struct {
			TID        idString `json:"tid"`
			Title      string   `json:"title"`
			Type       int      `json:"type"`
			CategoryID idString `json:"categoryId"`
		} `json:"data"`
	}
	if err := c.get(ctx, pathPublicTitles, q.Encode(), &out); err != nil {
		return PublicTemplates{}, err
	}
	res := PublicTemplates{Count: out.Count, Templates: make([]PublicTemplate, len(out.Data))}
	for i, d := range out.Data {
		res.Templates[i] = PublicTemplate{TID: string(d.TID), Title: d.Title, Type: d.Type, CategoryID: string(d.CategoryID)}
	}
	return res, nil
}

// PublicTemplateKeywords returns the keywords the public title tid offers.
//
// Docs: https://developers.weixin.qq.com/miniprogram/dev/OpenApiDoc/mp-message-management/subscribe-message/getPubTemplateKeyWordsById.html
func (c *Client) PublicTemplateKeywords(ctx context.Context, tid string) ([]PublicKeyword, error) {
	if tid == "" {
		return nil, fmt.Errorf("%w: PublicTemplateKeywords needs a tid", ErrInvalidMessage)
	}
	var out struct {
		apiStatus
		Data []PublicKeyword `json:"data"`
	}
	if err := c.get(ctx, pathPublicKeywords, "tid="+url.QueryEscape(tid), &out); err != nil {
		return nil, err
	}
	return out.Data, nil
}
