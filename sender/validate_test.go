package sender

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestKeywordType(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"thing4", "thing"},
		{"thing01", "thing"},
		{"thing", "thing"},
		{"character_string9", "character_string"},
		{"phrase16", "phrase"},
		{"phone_number12", "phone_number"},
		{"4", ""},
		{"site01", "site"},
	} {
		if got := KeywordType(tc.in); got != tc.want {
			t.Errorf("KeywordType(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// validationCases covers every keyword type: ASCII, Chinese, mixed, the
// length boundary and one past it, ranges, and each type's format.
var validationCases = []struct {
	keyword, value string
	rule           string // "" when the value is valid
}{
	// thing: at most 20 characters of anything.
	{"thing1", "", ruleEmpty},
	{"thing1", "abc", ""},
	{"thing1", strings.Repeat("a", 20), ""},
	{"thing1", strings.Repeat("a", 21), ruleThing},
	{"thing1", strings.Repeat("我", 20), ""},
	{"thing1", strings.Repeat("我", 21), ruleThing},
	{"thing1", strings.Repeat("我a", 10), ""},
	{"thing1", strings.Repeat("我a", 10) + "!", ruleThing},
	{"thing1", strings.Repeat("🙂", 20), ""},
	{"thing01", "地铁1号线 (往返) ¥5", ""},

	// number: at most 32 digits with an optional decimal point.
	{"number2", "0", ""},
	{"number2", "123.45", ""},
	{"number2", strings.Repeat("9", 32), ""},
	{"number2", strings.Repeat("9", 33), ruleNumber},
	{"number2", strings.Repeat("9", 30) + ".5", ""},
	{"number2", strings.Repeat("9", 31) + ".5", ruleNumber},
	{"number2", "1.2.3", ruleNumber},
	{"number2", ".5", ruleNumber},
	{"number2", "5.", ruleNumber},
	{"number2", "-1", ruleNumber},
	{"number2", "１２", ruleNumber},
	{"number2", "12a", ruleNumber},
	{"number2", "一二", ruleNumber},

	// letter: at most 32 letters.
	{"letter3", "abcXYZ", ""},
	{"letter3", strings.Repeat("z", 32), ""},
	{"letter3", strings.Repeat("z", 33), ruleLetter},
	{"letter3", "abc1", ruleLetter},
	{"letter3", "中文", ruleLetter},
	{"letter3", "ab c", ruleLetter},

	// symbol: at most 5 symbols.
	{"symbol4", "+-*/", ""},
	{"symbol4", "!@#$%", ""},
	{"symbol4", "!@#$%^", ruleSymbol},
	{"symbol4", "。，￥", ""},
	{"symbol4", "a!", ruleSymbol},
	{"symbol4", "1", ruleSymbol},

	// character_string: at most 32 digits, letters or symbols.
	{"character_string9", "AB-123_45", ""},
	{"character_string9", strings.Repeat("A1", 16), ""},
	{"character_string9", strings.Repeat("A1", 16) + "-", ruleCharStr},
	{"character_string9", "订单1", ruleCharStr},
	{"character_string9", "a b", ruleCharStr},

	// time: a 24-hour time, optionally after a date; ranges with ~.
	{"time5", "15:01", ""},
	{"time5", "9:05", ""},
	{"time5", "00:00", ""},
	{"time5", "23:59:59", ""},
	{"time5", "24:00", ruleTime},
	{"time5", "15:60", ruleTime},
	{"time5", "15:1", ruleTime},
	{"time5", "10月1日 15:01", ""},
	{"time5", "10月1日15:01", ""},
	{"time5", "2024年10月1日 15:01", ""},
	{"time5", "2024-10-01 15:01", ""},
	{"time5", "2024/10/01 15:01:30", ""},
	{"time5", "2024-10-0115:01", ruleTime},
	{"time5", "15:01~16:30", ""},
	{"time5", "10月1日 15:01 ~ 10月2日 09:00", ""},
	{"time5", "10月1日", ruleTime},
	{"time5", "15:01~", ruleTime},
	{"time5", "~15:01", ruleTime},
	{"time5", "15:01~16:00~17:00", ruleTime},
	{"time5", "3pm", ruleTime},
	{"time5", "15：01", ruleTime},

	// date: a date, optionally with a 24-hour time; ranges with ~.
	{"date6", "10月1日", ""},
	{"date6", "01月05日", ""},
	{"date6", "2024年10月1日", ""},
	{"date6", "2024-10-01", ""},
	{"date6", "2024/10/1", ""},
	{"date6", "2024.10.01", ""},
	{"date6", "10-01", ""},
	{"date6", "10/1", ""},
	{"date6", "2024年10月1日 15:01", ""},
	{"date6", "2024-10-01 15:01", ""},
	{"date6", "2024-10-01~2024-10-07", ""},
	{"date6", "10月1日 ~ 10月7日", ""},
	{"date6", "13月1日", ruleDate},
	{"date6", "2024-13-01", ruleDate},
	{"date6", "2024-10-32", ruleDate},
	{"date6", "2024-00-10", ruleDate},
	{"date6", "15:01", ruleDate},
	{"date6", "2024-10", ruleDate},
	{"date6", "2024-10/01", ruleDate},
	{"date6", "10.1", ruleDate},
	{"date6", "明天", ruleDate},
	{"date6", "2024-10-01 25:00", ruleDate},

	// amount: an optional currency symbol, at most 10 digits, decimals, 元.
	{"amount7", "¥100", ""},
	{"amount7", "￥100.00", ""},
	{"amount7", "$3", ""},
	{"amount7", "€5", ""},
	{"amount7", "100元", ""},
	{"amount7", "¥100.50元", ""},
	{"amount7", "100", ""},
	{"amount7", "1234567890", ""},
	{"amount7", "¥1234567890.99", ""},
	{"amount7", "12345678901", ruleAmount},
	{"amount7", "¥¥1", ruleAmount},
	{"amount7", "1,000", ruleAmount},
	{"amount7", "-¥5", ruleAmount},
	{"amount7", "¥", ruleAmount},
	{"amount7", "100 元", ruleAmount},
	{"amount7", "100$", ruleAmount},
	{"amount7", "一百元", ruleAmount},

	// phone_number: at most 17 digits and symbols.
	{"phone_number8", "+86-0766-66888866", ""},
	{"phone_number8", "+86-0766-668888666", rulePhone},
	{"phone_number8", "13800138000", ""},
	{"phone_number8", "(0755)1234", ""},
	{"phone_number8", "ext.5", rulePhone},
	{"phone_number8", "138 0013", rulePhone},

	// car_number: at most 8; first and last may be Chinese.
	{"car_number9", "粤A8Z888挂", ""},
	{"car_number9", "粤AD12345", ""},
	{"car_number9", "粤A12345", ""},
	{"car_number9", "AB12", ""},
	{"car_number9", "粤A8Z888挂1", ruleCarNumber},
	{"car_number9", "A中123", ruleCarNumber},
	{"car_number9", "粤A-1234", ruleCarNumber},

	// name: 10 Chinese (mixed counts as Chinese) or 20 letters/symbols.
	{"name10", "张三", ""},
	{"name10", strings.Repeat("娜", 10), ""},
	{"name10", strings.Repeat("娜", 11), ruleName},
	{"name10", "John Smith", ""},
	{"name10", strings.Repeat("x", 20), ""},
	{"name10", strings.Repeat("x", 21), ruleName},
	{"name10", "张三Tom", ""},
	{"name10", "Tom张三abcde", ""},
	{"name10", "Tom张三abcdef", ruleName},
	{"name10", "阿卜杜·热合曼", ""},
	{"name10", "O'Brien-Smith", ""},
	{"name10", "R2D2", ruleName},

	// phrase: at most 5 Chinese characters.
	{"phrase11", "配送中", ""},
	{"phrase11", "五个汉字啊", ""},
	{"phrase11", "六个汉字啊啊", rulePhrase},
	{"phrase11", "ok", rulePhrase},
	{"phrase11", "配送1", rulePhrase},

	// enum: only the template knows the values; non-empty suffices.
	{"enum12", "", ruleEmpty},
	{"enum12", "已发货", ""},
	{"enum_string13", "shipped", ""},

	// Unknown types pass unchecked.
	{"site01", strings.Repeat("广州市新港中路397号", 5), ""},
	{"keyword1", "", ""},
}

func TestValidateData(t *testing.T) {
	for _, tc := range validationCases {
		err := ValidateData(map[string]string{tc.keyword: tc.value})
		if tc.rule == "" {
			if err != nil {
				t.Errorf("%s=%q: unexpected error %v", tc.keyword, tc.value, err)
			}
			continue
		}
		var de *DataError
		if !errors.As(err, &de) {
			t.Errorf("%s=%q: error %v, want a *DataError", tc.keyword, tc.value, err)
			continue
		}
		if de.Keyword != tc.keyword || de.Rule != tc.rule || de.Value != tc.value {
			t.Errorf("%s=%q: got %+v, want rule %q", tc.keyword, tc.value, *de, tc.rule)
		}
		if !errors.Is(err, ErrInvalidData) {
			t.Errorf("%s=%q: error does not match ErrInvalidData", tc.keyword, tc.value)
		}
	}
}

func TestValidateDataNamesSmallestKeyword(t *testing.T) {
	data := map[string]string{
		"thing2":   strings.Repeat("x", 30),
		"number1":  "abc",
		"phrase3":  "toolong",
		"thing1":   "ok",
		"unknown0": "",
	}
	for range 20 { // map order varies between runs
		var de *DataError
		if err := ValidateData(data); !errors.As(err, &de) || de.Keyword != "number1" {
			t.Fatalf("error = %v, want one naming number1", err)
		}
	}
	if err := ValidateData(nil); err != nil {
		t.Fatalf("ValidateData(nil) = %v", err)
	}
}

func TestDataErrorMessage(t *testing.T) {
	err := ValidateData(map[string]string{"thing1": strings.Repeat("x", 21)})
	want := "wxsub/sender: invalid template data: thing1: at most 20 characters"
	if err == nil || err.Error() != want {
		t.Fatalf("error = %v, want %q", err, want)
	}
}

func TestTruncate(t *testing.T) {
	for _, tc := range []struct {
		keyword, in, want string
		rule              string // rule still broken after truncation
	}{
		{"thing1", strings.Repeat("我", 25), strings.Repeat("我", 19) + "…", ""},
		{"thing1", strings.Repeat("a", 21), strings.Repeat("a", 19) + "…", ""},
		{"thing1", strings.Repeat("a", 20), strings.Repeat("a", 20), ""},
		{"name2", "Christopher Alexander Smith", "Christopher Alexande", ""},
		{"name2", strings.Repeat("娜", 12), strings.Repeat("娜", 10), ""},
		{"name2", "Tom张三abcdefgh", "Tom张三abcde", ""},
		{"phrase3", "六个汉字啊啊啊", "六个汉字啊", ""},
		{"phrase3", "okay okay", "okay ", rulePhrase},
		{"number4", strings.Repeat("1", 40), strings.Repeat("1", 40), ruleNumber},
		{"character_string5", strings.Repeat("A", 40), strings.Repeat("A", 40), ruleCharStr},
	} {
		in := map[string]string{tc.keyword: tc.in, "other9": "kept"}
		out, err := checkData(in, true)
		if tc.rule != "" {
			var de *DataError
			if !errors.As(err, &de) || de.Rule != tc.rule {
				t.Errorf("%s=%q: error %v, want rule %q", tc.keyword, tc.in, err, tc.rule)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s=%q: unexpected error %v", tc.keyword, tc.in, err)
			continue
		}
		if out[tc.keyword] != tc.want || out["other9"] != "kept" || len(out) != 2 {
			t.Errorf("%s=%q: got %q, want %q", tc.keyword, tc.in, out, tc.want)
		}
		if in[tc.keyword] != tc.in {
			t.Errorf("%s: the caller's map was modified", tc.keyword)
		}
	}
	// Nothing to cut: the same map comes back, not a copy.
	in := map[string]string{"thing1": "short"}
	out, err := checkData(in, true)
	if err != nil {
		t.Fatal(err)
	}
	out["probe"] = "x"
	if in["probe"] != "x" {
		t.Error("checkData copied a map it did not change")
	}
}

// FuzzValidateData checks that validation never panics, that its verdict
// is stable, and that truncation only ever shortens free text to a value
// that no longer breaks the length rule.
func FuzzValidateData(f *testing.F) {
	for _, tc := range validationCases {
		f.Add(tc.keyword, tc.value)
	}
	f.Fuzz(func(t *testing.T, keyword, value string) {
		data := map[string]string{keyword: value}
		err1 := ValidateData(data)
		err2 := ValidateData(data)
		if (err1 == nil) != (err2 == nil) {
			t.Fatalf("unstable verdict: %v then %v", err1, err2)
		}
		out, err := checkData(data, true)
		if err != nil {
			return
		}
		got := out[keyword]
		if utf8.RuneCountInString(got) > utf8.RuneCountInString(value) {
			t.Fatalf("truncation grew %q to %q", value, got)
		}
		if err := ValidateData(out); err != nil {
			t.Fatalf("truncated data %q fails: %v", got, err)
		}
	})
}
