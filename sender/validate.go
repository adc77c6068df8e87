package sender

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Keyword types of template data, whose value rules are listed under
// "其他说明" in
// https://developers.weixin.qq.com/miniprogram/dev/OpenApiDoc/mp-message-management/subscribe-message/sendMessage.html
// (WeChat answers 47003 to a value that breaks them). A keyword's type is
// its name without the trailing digits: "thing4" is a thing.
const (
	TypeThing           = "thing"
	TypeNumber          = "number"
	TypeLetter          = "letter"
	TypeSymbol          = "symbol"
	TypeCharacterString = "character_string"
	TypeTime            = "time"
	TypeDate            = "date"
	TypeAmount          = "amount"
	TypePhoneNumber     = "phone_number"
	TypeCarNumber       = "car_number"
	TypeName            = "name"
	TypePhrase          = "phrase"
	TypeEnum            = "enum"
	TypeEnumString      = "enum_string"
)

// Rules, as DataError.Rule reports them.
const (
	ruleEmpty     = "must not be empty"
	ruleThing     = "at most 20 characters"
	ruleNumber    = "at most 32 digits, with an optional decimal point"
	ruleLetter    = "at most 32 letters"
	ruleSymbol    = "at most 5 symbols"
	ruleCharStr   = "at most 32 digits, letters or symbols"
	ruleTime      = "a 24-hour time, optionally after a date (15:01, 10月1日 15:01), or two joined by ~"
	ruleDate      = "a date (10月1日, 2024-10-01), optionally with a 24-hour time, or two joined by ~"
	ruleAmount    = "an optional currency symbol, at most 10 digits with optional decimals, an optional trailing 元"
	rulePhone     = "at most 17 digits and symbols"
	ruleCarNumber = "at most 8 letters or digits; the first and last may be Chinese characters"
	ruleName      = "at most 10 Chinese characters (mixed text counts as Chinese), or at most 20 letters and symbols"
	rulePhrase    = "at most 5 Chinese characters"
)

// KeywordType returns the type of a template keyword: its name without
// trailing digits ("character_string9" → "character_string").
func KeywordType(keyword string) string {
	return strings.TrimRight(keyword, "0123456789")
}

// ValidateData checks template data (keyword → value) against WeChat's rules
// for each keyword type, so that a bad value fails here, naming the keyword,
// instead of costing a request answered with 47003. Lengths count
// characters, not bytes. Keywords of unknown types pass unchecked, and so do
// enum values (only the template knows them), apart from being non-empty.
//
// The error is a *DataError wrapping ErrInvalidData. When several values are
// bad it names the smallest keyword, so the result is deterministic.
func ValidateData(data map[string]string) error {
	_, err := checkData(data, false)
	return err
}

// checkData validates data and, with truncate, cuts over-long free-text
// values (thing, name, phrase) to their limit first. It returns data itself
// when nothing was cut, and a copy otherwise.
func checkData(data map[string]string, truncate bool) (map[string]string, error) {
	var bad *DataError
	out, copied := data, false
	for k, v := range data {
		if bad != nil && k > bad.Keyword {
			continue
		}
		typ := KeywordType(k)
		if truncate {
			if cut, ok := truncateValue(typ, v); ok {
				if !copied {
					out, copied = make(map[string]string, len(data)), true
					for k2, v2 := range data {
						out[k2] = v2
					}
				}
				out[k] = cut
				v = cut
			}
		}
		if rule := checkValue(typ, v); rule != "" {
			bad = &DataError{Keyword: k, Rule: rule, Value: v}
		}
	}
	if bad != nil {
		return data, bad
	}
	return out, nil
}

// checkValue returns "" when v satisfies the rule of typ, else the rule.
func checkValue(typ, v string) string {
	switch typ {
	case TypeThing, TypeNumber, TypeLetter, TypeSymbol, TypeCharacterString, TypeTime, TypeDate,
		TypeAmount, TypePhoneNumber, TypeCarNumber, TypeName, TypePhrase, TypeEnum, TypeEnumString:
		if v == "" {
			return ruleEmpty
		}
	default:
		return ""
	}
	n := utf8.RuneCountInString(v)
	switch typ {
	case TypeThing:
		if n > 20 {
			return ruleThing
		}
	case TypeNumber:
		if n > 32 || !isDecimal(v) {
			return ruleNumber
		}
	case TypeLetter:
		if n > 32 || !all(v, isASCIILetter) {
			return ruleLetter
		}
	case TypeSymbol:
		if n > 5 || !all(v, isSymbol) {
			return ruleSymbol
		}
	case TypeCharacterString:
		if n > 32 || !all(v, func(r rune) bool { return isASCIIAlnum(r) || isSymbol(r) }) {
			return ruleCharStr
		}
	case TypeTime:
		if !validRange(v, false) {
			return ruleTime
		}
	case TypeDate:
		if !validRange(v, true) {
			return ruleDate
		}
	case TypeAmount:
		if !validAmount(v) {
			return ruleAmount
		}
	case TypePhoneNumber:
		if n > 17 || !all(v, func(r rune) bool { return isDigit(r) || isSymbol(r) }) {
			return rulePhone
		}
	case TypeCarNumber:
		if !validCarNumber(v, n) {
			return ruleCarNumber
		}
	case TypeName:
		if !validName(v, n) {
			return ruleName
		}
	case TypePhrase:
		if n > 5 || !all(v, isHan) {
			return rulePhrase
		}
	}
	return ""
}

// truncateValue cuts an over-long free-text value to its type's limit. A
// thing ends in "…" to show the cut. It reports whether it cut anything.
func truncateValue(typ, v string) (string, bool) {
	limit, ellipsis := 0, false
	switch typ {
	case TypeThing:
		limit, ellipsis = 20, true
	case TypePhrase:
		limit = 5
	case TypeName:
		limit = 20
		if strings.IndexFunc(v, isHan) >= 0 {
			limit = 10
		}
	default:
		return v, false
	}
	if utf8.RuneCountInString(v) <= limit {
		return v, false
	}
	keep := limit
	if ellipsis {
		keep--
	}
	i, n := 0, 0
	for i < len(v) && n < keep {
		_, size := utf8.DecodeRuneInString(v[i:])
		i += size
		n++
	}
	if ellipsis {
		return v[:i] + "…", true
	}
	return v[:i], true
}

func all(s string, ok func(rune) bool) bool {
	for _, r := range s {
		if !ok(r) {
			return false
		}
	}
	return true
}

func isDigit(r rune) bool       { return r >= '0' && r <= '9' }
func isASCIILetter(r rune) bool { return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' }
func isASCIIAlnum(r rune) bool  { return isDigit(r) || isASCIILetter(r) }
func isHan(r rune) bool         { return unicode.Is(unicode.Han, r) }

// isSymbol reports punctuation and symbols (+ - ( ) # ¥ ~ and the like).
// Replacement characters from invalid UTF-8 are not symbols.
func isSymbol(r rune) bool {
	return r != utf8.RuneError && (unicode.IsPunct(r) || unicode.IsSymbol(r))
}

// isDecimal reports digits with at most one decimal point between digits.
func isDecimal(s string) bool {
	intPart, frac, hasPoint := strings.Cut(s, ".")
	if intPart == "" || !all(intPart, isDigit) {
		return false
	}
	return !hasPoint || frac != "" && all(frac, isDigit)
}

// validAmount accepts "¥12.50", "$3", "100元", "¥100.00元" and "100": one
// optional currency symbol, 1 to 10 integer digits, optional decimals, an
// optional trailing 元.
func validAmount(s string) bool {
	if r, size := utf8.DecodeRuneInString(s); r != utf8.RuneError && unicode.Is(unicode.Sc, r) {
		s = s[size:]
	}
	s = strings.TrimSuffix(s, "元")
	intPart, _, _ := strings.Cut(s, ".")
	return len(intPart) <= 10 && isDecimal(s)
}

// validCarNumber accepts 粤A8Z888挂: letters or digits, the first and last
// optionally Chinese characters, at most 8 in all.
func validCarNumber(s string, n int) bool {
	if n > 8 {
		return false
	}
	i := 0
	for _, r := range s {
		edge := i == 0 || i == n-1
		if !isASCIIAlnum(r) && !(edge && isHan(r)) {
			return false
		}
		i++
	}
	return true
}

// validName accepts up to 10 characters when any is Chinese, else up to 20
// letters, symbols and spaces. Digits are not part of a name.
func validName(s string, n int) bool {
	han := false
	for _, r := range s {
		switch {
		case isHan(r):
			han = true
		case unicode.IsLetter(r), isSymbol(r), r == ' ':
		default:
			return false
		}
	}
	if han {
		return n <= 10
	}
	return n <= 20
}
