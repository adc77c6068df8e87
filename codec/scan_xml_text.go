package codec

import "strings"

// text reads the content of the element name, whose start tag was just
// read, through its end tag. It returns the element's own character data
// (text and CDATA, entities decoded, line ends normalized, as encoding/xml
// reads a string field) and whether the element had child elements, which
// are skipped, as are comments and processing instructions.
//
// White space alone next to a CDATA section (between it and the tags, or
// between two sections) is not part of the text: it is the indentation of
// a pretty-printed push, as in
//
//	<ToUserName>
//	    <![CDATA[gh_123456789abc]]>
//	</ToUserName>
//
// which reads "gh_123456789abc". White space inside a section, and text
// with anything but white space, is kept.
//
// The common shapes, one CDATA section (indented or not) or plain text
// without entities or carriage returns, return a substring of the input
// without copying.
func (d *xmlScanner) text(name string) (string, bool, error) {
	s, start := d.s, d.pos
	var t string
	end := -1 // offset of the end tag
	rest := s[start:]
	lead := 0
	for lead < len(rest) && isXMLSpace(rest[lead]) {
		lead++
	}
	if c := rest[lead:]; len(c) > 9 && c[1] == '!' && c[:9] == "<![CDATA[" {
		if i := indexCDATAEnd(c[9:]); i >= 0 {
			t = c[9 : 9+i]
			if d.noCR || strings.IndexByte(t, '\r') < 0 {
				end = start + lead + 9 + i + 3
				for end < len(s) && isXMLSpace(s[end]) {
					end++
				}
			}
		}
	} else if i := strings.IndexByte(rest, '<'); i >= 0 {
		t = rest[:i]
		if d.noCR && d.noAmp || isPlain(t) {
			end = start + i
		}
	}
	// The end tag must follow at once: "</" name optional-space ">".
	if end >= 0 {
		if rest := s[end:]; len(rest) >= len(name)+3 && rest[0] == '<' && rest[1] == '/' && rest[2:2+len(name)] == name {
			j := 2 + len(name)
			if rest[j] != '>' {
				for j < len(rest) && isXMLSpace(rest[j]) {
					j++
				}
			}
			if j < len(rest) && rest[j] == '>' {
				d.endTag = end
				d.pos = end + j + 1
				return t, false, nil
			}
		}
	}
	return d.slowText(name, true)
}

// isPlain reports whether character data t reads as itself: it has no
// entity or character reference and no carriage return.
func isPlain(t string) bool {
	if len(t) > 32 {
		return strings.IndexByte(t, '&') < 0 && strings.IndexByte(t, '\r') < 0
	}
	for i := 0; i < len(t); i++ {
		if t[i] == '&' || t[i] == '\r' {
			return false
		}
	}
	return true
}

// skip advances past the content and end tag of the element name, whose
// start tag was just read.
func (d *xmlScanner) skip(name string) error {
	_, _, err := d.slowText(name, false)
	return err
}

// slowText is text without shortcuts; keep=false only checks and skips.
// Nested elements are tracked on a fixed stack, so the walk is iterative
// and its memory bounded whatever the input.
func (d *xmlScanner) slowText(name string, keep bool) (string, bool, error) {
	var (
		buf    []byte
		stack  [maxXMLDepth]string
		depth  int
		nested bool
		// afterCDATA: the last thing read at depth 0, comments and
		// processing instructions aside, was a CDATA section.
		afterCDATA bool
	)
	for {
		i := strings.IndexByte(d.s[d.pos:], '<')
		if i < 0 {
			d.pos = len(d.s)
			return "", false, d.errorf("unterminated element " + tag("<", name))
		}
		if keep && depth == 0 && i > 0 {
			run := d.s[d.pos : d.pos+i]
			// White space alone next to a CDATA section is dropped
			// (see text).
			if !(isSpaceOnly(run) && (afterCDATA || strings.HasPrefix(d.s[d.pos+i:], "<![CDATA["))) {
				var err error
				if buf, err = appendText(buf, run); err != nil {
					return "", false, d.errorf(err.Error())
				}
				afterCDATA = false
			}
		} else if !d.noAmp && i > 0 {
			// Text that is not kept must still be well-formed.
			if err := checkText(d.s[d.pos : d.pos+i]); err != nil {
				return "", false, d.errorf(err.Error())
			}
		}
		d.pos += i
		kind, err := d.markup()
		if err != nil {
			return "", false, err
		}
		switch kind {
		case markEnd:
			afterCDATA = false
			end, err := d.endTagName()
			if err != nil {
				return "", false, err
			}
			if depth == 0 {
				if end != name {
					return "", false, d.errorf("end tag " + tag("</", end) + " closes " + tag("<", name))
				}
				return string(buf), nested, nil
			}
			depth--
			if end != stack[depth] {
				return "", false, d.errorf("end tag " + tag("</", end) + " closes " + tag("<", stack[depth]))
			}
		case markStart:
			afterCDATA = false
			child, empty, err := d.startTag()
			if err != nil {
				return "", false, err
			}
			nested = true
			if !empty {
				if depth == len(stack) {
					return "", false, d.errorf("elements nested too deeply")
				}
				stack[depth] = child
				depth++
			}
		case markComment:
			err = d.skipComment()
		case markPI:
			err = d.skipPI()
		case markCDATA:
			var t string
			if t, err = d.cdata(); err == nil && keep && depth == 0 {
				buf = appendNormalized(buf, t)
				afterCDATA = true
			}
		}
		if err != nil {
			return "", false, err
		}
	}
}

// isSpaceOnly reports whether t is XML white space only.
func isSpaceOnly(t string) bool {
	for i := 0; i < len(t); i++ {
		if !isXMLSpace(t[i]) {
			return false
		}
	}
	return true
}
