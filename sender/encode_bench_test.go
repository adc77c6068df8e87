package sender

import (
	"testing"
	"unicode/utf8"

	"github.com/goccy/go-json"
)

var benchMessage = SubscribeMessage{
	ToUser: "o7esq5OI1Uej6Xixw1lA2H7XDVbc", TemplateID: "hD-ixGOhYmUfjOnI8MCzQMPshzGVeux_2vzyvQu7O68",
	Page: "pages/order/detail?id=42", MiniProgramState: StateFormal, Lang: LangZhCN,
	Data: map[string]string{
		"thing1": "地铁1号线", "amount2": "¥5.00", "time3": "2024年10月1日 15:01",
		"character_string4": "ORD-2024-0001", "phrase5": "已支付", "name6": "张三",
	},
}

// BenchmarkEncodeSubscribe compares the hand-written encoder of the send
// body with goccy/go-json marshalling the same shape.
func BenchmarkEncodeSubscribe(b *testing.B) {
	b.Run("wxsub", func(b *testing.B) {
		b.ReportAllocs()
		buf := make([]byte, 0, 1024)
		for b.Loop() {
			buf = appendSubscribe(buf[:0], &benchMessage, benchMessage.Data)
		}
	})
	b.Run("goccy_json", func(b *testing.B) {
		type value struct {
			Value string `json:"value"`
		}
		b.ReportAllocs()
		for b.Loop() {
			data := make(map[string]value, len(benchMessage.Data))
			for k, v := range benchMessage.Data {
				data[k] = value{v}
			}
			_, err := json.Marshal(struct {
				ToUser           string           `json:"touser"`
				TemplateID       string           `json:"template_id"`
				Page             string           `json:"page"`
				MiniProgramState string           `json:"miniprogram_state"`
				Lang             string           `json:"lang"`
				Data             map[string]value `json:"data"`
			}{benchMessage.ToUser, benchMessage.TemplateID, benchMessage.Page, benchMessage.MiniProgramState, benchMessage.Lang, data})
			if err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkValidateData measures the full keyword-type check against the
// least any check must do, counting each value's characters.
func BenchmarkValidateData(b *testing.B) {
	b.Run("wxsub", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := ValidateData(benchMessage.Data); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("rune_count", func(b *testing.B) {
		b.ReportAllocs()
		n := 0
		for b.Loop() {
			for _, v := range benchMessage.Data {
				n += utf8.RuneCountInString(v)
			}
		}
		_ = n
	})
}
