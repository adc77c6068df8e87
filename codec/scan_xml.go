package codec

import (
	"strconv"
	"strings"
)

// maxXMLDepth bounds how deeply elements may nest inside an element the
// scanner skips. The scanner never recurses, so the bound is not about the
// stack: it sizes the fixed array that checks end tags against start tags.
const maxXMLDepth = 64

// xmlScanner walks WeChat's flat XML: one root element whose children hold
// text or CDATA, a few of which hold <List> items. It reads s in place and
// returns substrings of it, copying only text that must change (entities,
// CRLF line ends, text split across sections).
type xmlScanner struct {
	s   string
	pos int
	// endTag is the offset of the last end tag text read, so that a caller
	// can cut an element's inner XML.
	endTag int
	// noCR and noAmp record that s has no carriage return and no '&', so
	// that no text needs checking for them.
	noCR, noAmp bool
}

// newXMLScanner returns a scanner of s. Two fast searches of the whole
// body save a check of every text in it.
func newXMLScanner(s string) xmlScanner {
	return xmlScanner{s: s, noCR: strings.IndexByte(s, '\r') < 0, noAmp: strings.IndexByte(s, '&') < 0}
}

func (d *xmlScanner) errorf(reason string) error {
	return malformed("xml", d.pos, reason)
}

// tag formats a start (open "<") or end (open "</") tag for an error
// message, its name cut short.
func tag(open, name string) string {
	if len(name) > 40 {
		name = name[:40] + "..."
	}
	return strconv.Quote(open + name + ">")
}

// isXMLSpace reports whether c is XML white space.
func isXMLSpace(c byte) bool {
	return c == ' ' || c == '\n' || c == '\t' || c == '\r'
}

// nameBytes marks the bytes that may appear in an element name; bytes of
// multi-byte UTF-8 sequences are accepted as they come. nameStarts marks
// those that may start one. Both are read-only tables.
var nameBytes, nameStarts = nameTables()

func nameTables() (bytes, starts [256]bool) {
	for c := range 256 {
		b := byte(c)
		letter := 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || b == '_' || b == ':' || b >= 0x80
		starts[c] = letter
		bytes[c] = letter || '0' <= b && b <= '9' || b == '-' || b == '.'
	}
	return bytes, starts
}

// skipSpace advances past white space.
func (d *xmlScanner) skipSpace() {
	for d.pos < len(d.s) && isXMLSpace(d.s[d.pos]) {
		d.pos++
	}
}

// skipMisc advances past white space, comments and processing instructions
// outside the root element.
func (d *xmlScanner) skipMisc() error {
	for {
		d.skipSpace()
		rest := d.s[d.pos:]
		switch {
		case strings.HasPrefix(rest, "<!--"):
			if err := d.skipComment(); err != nil {
				return err
			}
		case strings.HasPrefix(rest, "<?"):
			if err := d.skipPI(); err != nil {
				return err
			}
		case strings.HasPrefix(rest, "<!"):
			return d.errorf("DOCTYPE and other declarations are not supported")
		default:
			return nil
		}
	}
}

// skipComment advances past "<!--" ... "-->" at pos.
func (d *xmlScanner) skipComment() error {
	i := strings.Index(d.s[d.pos+4:], "-->")
	if i < 0 {
		return d.errorf("unterminated comment")
	}
	d.pos += 4 + i + 3
	return nil
}

// skipPI advances past "<?" ... "?>" at pos.
func (d *xmlScanner) skipPI() error {
	i := strings.Index(d.s[d.pos+2:], "?>")
	if i < 0 {
		return d.errorf("unterminated processing instruction")
	}
	d.pos += 2 + i + 2
	return nil
}

// cdata returns the content of the CDATA section at pos and advances past it.
func (d *xmlScanner) cdata() (string, error) {
	start := d.pos + len("<![CDATA[")
	i := indexCDATAEnd(d.s[start:])
	if i < 0 {
		return "", d.errorf("unterminated CDATA section")
	}
	d.pos = start + i + 3
	return d.s[start : start+i], nil
}

// indexCDATAEnd returns the index of the first "]]>" in s, or -1. CDATA
// content rarely holds ']', so one IndexByte usually finds the end.
func indexCDATAEnd(s string) int {
	for i := 0; ; {
		j := strings.IndexByte(s[i:], ']')
		if j < 0 {
			return -1
		}
		i += j
		if i+2 < len(s) && s[i+1] == ']' && s[i+2] == '>' {
			return i
		}
		i++
	}
}

// name reads an element name at pos and advances past it.
func (d *xmlScanner) name() (string, error) {
	s, start := d.s, d.pos
	i := start
	for i < len(s) && nameBytes[s[i]] {
		i++
	}
	if i == start || !nameStarts[s[start]] {
		return "", d.errorf("bad element name")
	}
	d.pos = i
	return s[start:i], nil
}

// startTag reads the start tag at pos ('<' followed by a name) and returns
// the element's name and whether the tag was self-closing. Attributes are
// skipped: WeChat sends none, and none carries a field.
func (d *xmlScanner) startTag() (name string, empty bool, err error) {
	d.pos++ // '<'
	if name, err = d.name(); err != nil {
		return "", false, err
	}
	s, i := d.s, d.pos
	if i < len(s) && s[i] == '>' {
		d.pos = i + 1
		return name, false, nil
	}
	if i < len(s) && !isXMLSpace(s[i]) && s[i] != '/' {
		return "", false, d.errorf("bad character after element name")
	}
	for i < len(s) {
		switch c := s[i]; c {
		case '>':
			d.pos = i + 1
			return name, false, nil
		case '/':
			if i+1 < len(s) && s[i+1] == '>' {
				d.pos = i + 2
				return name, true, nil
			}
			d.pos = i
			return "", false, d.errorf("'/' inside a start tag")
		case '"', '\'':
			j := strings.IndexByte(s[i+1:], c)
			if j < 0 {
				d.pos = i
				return "", false, d.errorf("unterminated attribute value")
			}
			i += j + 2
		case '<':
			d.pos = i
			return "", false, d.errorf("'<' inside a start tag")
		default:
			i++
		}
	}
	d.pos = i
	return "", false, d.errorf("unterminated start tag")
}

// endTagName reads the end tag at pos ("</") and returns its name.
func (d *xmlScanner) endTagName() (string, error) {
	d.endTag = d.pos
	d.pos += 2
	name, err := d.name()
	if err != nil {
		return "", err
	}
	d.skipSpace()
	if d.pos >= len(d.s) || d.s[d.pos] != '>' {
		return "", d.errorf("unterminated end tag")
	}
	d.pos++
	return name, nil
}

// closes reports whether the end tag of name is at pos, and if so advances
// past it.
func (d *xmlScanner) closes(name string) bool {
	rest := d.s[d.pos:]
	if len(rest) < len(name)+3 || rest[0] != '<' || rest[1] != '/' || rest[2:2+len(name)] != name {
		return false
	}
	i := 2 + len(name)
	for i < len(rest) && isXMLSpace(rest[i]) {
		i++
	}
	if i == len(rest) || rest[i] != '>' {
		return false
	}
	d.endTag = d.pos
	d.pos += i + 1
	return true
}

// markup kinds met at a '<'.
const (
	markEnd = iota + 1
	markStart
	markComment
	markCDATA
	markPI
)

// markup classifies the markup at pos, which is a '<'.
func (d *xmlScanner) markup() (int, error) {
	rest := d.s[d.pos:]
	if len(rest) < 2 {
		return 0, d.errorf("unexpected end after '<'")
	}
	switch rest[1] {
	case '/':
		return markEnd, nil
	case '?':
		return markPI, nil
	case '!':
		switch {
		case strings.HasPrefix(rest, "<!--"):
			return markComment, nil
		case strings.HasPrefix(rest, "<![CDATA["):
			return markCDATA, nil
		}
		return 0, d.errorf("declaration inside an element")
	}
	return markStart, nil
}

// child advances past character data, comments, CDATA sections and
// processing instructions inside parent, to its next child element or its
// end tag. It returns the child's name and whether its tag is
// self-closing, or done after consuming parent's end tag. Text between
// children is not read: WeChat's containers hold only white space there.
func (d *xmlScanner) child(parent string) (name string, empty, done bool, err error) {
	// The common case, after indentation: "<Name>" or the parent's end.
	s, i := d.s, d.pos
	for i < len(s) && isXMLSpace(s[i]) {
		i++
	}
	if i+1 < len(s) && s[i] == '<' {
		if nameStarts[s[i+1]] {
			j := i + 2
			for j < len(s) && nameBytes[s[j]] {
				j++
			}
			if j < len(s) && s[j] == '>' {
				d.pos = j + 1
				return s[i+1 : j], false, false, nil
			}
		}
		d.pos = i
		if s[i+1] == '/' && d.closes(parent) {
			return "", false, true, nil
		}
	}
	d.pos = i
	for {
		// Indentation is short: step over it before searching.
		for d.pos < len(d.s) && isXMLSpace(d.s[d.pos]) {
			d.pos++
		}
		if d.pos < len(d.s) && d.s[d.pos] != '<' {
			i := strings.IndexByte(d.s[d.pos:], '<')
			if i < 0 {
				i = len(d.s) - d.pos
			}
			if !d.noAmp {
				if err := checkText(d.s[d.pos : d.pos+i]); err != nil {
					return "", false, false, d.errorf(err.Error())
				}
			}
			d.pos += i
		}
		if d.pos >= len(d.s) {
			return "", false, false, d.errorf("unterminated element " + tag("<", parent))
		}
		if d.pos+1 < len(d.s) && nameStarts[d.s[d.pos+1]] {
			name, empty, err = d.startTag()
			return name, empty, false, err
		}
		kind, err := d.markup()
		if err != nil {
			return "", false, false, err
		}
		switch kind {
		case markEnd:
			if d.closes(parent) {
				return "", false, true, nil
			}
			end, err := d.endTagName()
			if err != nil {
				return "", false, false, err
			}
			if end != parent {
				return "", false, false, d.errorf("end tag " + tag("</", end) + " closes " + tag("<", parent))
			}
			return "", false, true, nil
		case markStart:
			name, empty, err = d.startTag()
			return name, empty, false, err
		case markComment:
			err = d.skipComment()
		case markPI:
			err = d.skipPI()
		case markCDATA:
			_, err = d.cdata()
		}
		if err != nil {
			return "", false, false, err
		}
	}
}
