package sender

import "strings"

// validRange accepts one point in time or two joined by "~". With dateFirst
// (keyword type date) each point is a date with an optional 24-hour time;
// otherwise (type time) it is a 24-hour time with an optional date before it.
func validRange(s string, dateFirst bool) bool {
	a, b, isRange := strings.Cut(s, "~")
	if !validPoint(strings.TrimSpace(a), dateFirst) {
		return false
	}
	return !isRange || validPoint(strings.TrimSpace(b), dateFirst)
}

func validPoint(s string, dateFirst bool) bool {
	rest, hasDate, cjk := scanDate(s)
	if !hasDate {
		return !dateFirst && wholeClock(s)
	}
	if rest == "" {
		return dateFirst
	}
	trimmed := strings.TrimLeft(rest, " ")
	if len(trimmed) == len(rest) && !cjk {
		return false // "2024-10-0115:01": a numeric date needs a space
	}
	return wholeClock(trimmed)
}

// wholeClock reports whether s is exactly one 24-hour time.
func wholeClock(s string) bool {
	rest, ok := scanClock(s)
	return ok && rest == ""
}

// scanDate consumes a date at the start of s: 2024年10月1日, 10月1日,
// 2024-10-01, 2024/10/1, 2024.10.01, 10-01 or 10/1. It returns the rest,
// whether a date was found, and whether it was written with 年月日.
func scanDate(s string) (rest string, ok, cjk bool) {
	if r, ok := scanCJKDate(s); ok {
		return r, true, true
	}
	n1, r := scanDigits(s, 1, 4)
	if len(n1) == 0 || r == "" {
		return s, false, false
	}
	sep := r[0]
	if sep != '-' && sep != '/' && sep != '.' {
		return s, false, false
	}
	n2, r := scanDigits(r[1:], 1, 2)
	if len(n2) == 0 {
		return s, false, false
	}
	if len(n1) == 4 {
		if r == "" || r[0] != sep {
			return s, false, false
		}
		n3, r := scanDigits(r[1:], 1, 2)
		if !validMonthDay(n2, n3) {
			return s, false, false
		}
		return r, true, false
	}
	if len(n1) > 2 || sep == '.' || !validMonthDay(n1, n2) {
		return s, false, false
	}
	return r, true, false
}

func scanCJKDate(s string) (string, bool) {
	if y, r := scanDigits(s, 4, 4); len(y) == 4 && strings.HasPrefix(r, "年") {
		s = r[len("年"):]
	}
	m, r := scanDigits(s, 1, 2)
	if len(m) == 0 || !strings.HasPrefix(r, "月") {
		return s, false
	}
	d, r := scanDigits(r[len("月"):], 1, 2)
	if !validMonthDay(m, d) || !strings.HasPrefix(r, "日") {
		return s, false
	}
	return r[len("日"):], true
}

// scanClock consumes H:MM or H:MM:SS (24-hour) and returns the rest.
func scanClock(s string) (string, bool) {
	h, r := scanDigits(s, 1, 2)
	if len(h) == 0 || atoi(h) > 23 || !strings.HasPrefix(r, ":") {
		return s, false
	}
	m, r := scanDigits(r[1:], 2, 2)
	if len(m) != 2 || atoi(m) > 59 {
		return s, false
	}
	if strings.HasPrefix(r, ":") {
		sec, r2 := scanDigits(r[1:], 2, 2)
		if len(sec) != 2 || atoi(sec) > 59 {
			return s, false
		}
		r = r2
	}
	return r, true
}

// scanDigits takes between min and max leading ASCII digits of s; when
// fewer than min are present it takes none.
func scanDigits(s string, min, max int) (digits, rest string) {
	i := 0
	for i < len(s) && i < max && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i < min {
		return "", s
	}
	return s[:i], s[i:]
}

func validMonthDay(m, d string) bool {
	if len(m) == 0 || len(d) == 0 {
		return false
	}
	mm, dd := atoi(m), atoi(d)
	return mm >= 1 && mm <= 12 && dd >= 1 && dd <= 31
}

// atoi converts at most four ASCII digits.
func atoi(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n
}
