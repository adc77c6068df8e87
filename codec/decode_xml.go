package codec

// itemsOnStack is how many items decodeXML gathers before it needs the
// heap: a popup lists at most three templates, the other events one.
const itemsOnStack = 4

// DecodeXML decodes a push in WeChat's XML into m, which it resets first.
//
// It is a hand-written scanner for the flat XML WeChat sends, not
// encoding/xml: the root <xml>, its children holding text or CDATA, and
// the subscription event containers holding one or more <List> items (a
// <List> directly under the root is read as an item too; an item with no
// field, such as <List/>, carries nothing and is left out). Unknown elements,
// nested or not, are skipped; comments and processing instructions are
// allowed; entities and character references are decoded where they occur;
// white space around numbers is ignored, and so is white space alone next
// to a CDATA section (the indentation of a pretty-printed push: white
// space inside a section is kept). m's strings share memory with
// m.Raw, a single copy of body; m.Items may use memory the caller provided
// (see Decode). Malformed input returns an error wrapping ErrMalformed,
// and m is left zero.
func DecodeXML(body []byte, m *Message) error {
	*m = Message{Raw: string(body), Format: XML, Items: spareItems(m)}
	if err := decodeXML(m.Raw, m); err != nil {
		*m = Message{}
		return err
	}
	return nil
}

func decodeXML(s string, m *Message) error {
	// Items gather on the stack and are copied out once, in one
	// allocation of the exact size.
	var local [itemsOnStack]SubscribeItem
	items := local[:0]
	d := newXMLScanner(s)
	empty, err := d.openRoot()
	if err != nil {
		return err
	}
	for !empty {
		name, emptyChild, done, err := d.child("xml")
		if err != nil {
			return err
		}
		if done {
			break
		}
		switch name {
		case "SubscribeMsgPopupEvent", "SubscribeMsgChangeEvent", "SubscribeMsgSentEvent":
			for !emptyChild {
				child, emptyItem, done, err := d.child(name)
				if err != nil {
					return err
				}
				if done {
					break
				}
				if child != "List" {
					if !emptyItem {
						if err := d.skip(child); err != nil {
							return err
						}
					}
					continue
				}
				it, err := d.item(emptyItem)
				if err != nil {
					return err
				}
				if it != (SubscribeItem{}) {
					items = append(items, it)
				}
			}
		case "List":
			it, err := d.item(emptyChild)
			if err != nil {
				return err
			}
			if it != (SubscribeItem{}) {
				items = append(items, it)
			}
		default:
			if err := d.field(m, name, emptyChild); err != nil {
				return err
			}
		}
	}
	if err := d.finish(); err != nil {
		return err
	}
	setItems(m, items)
	return nil
}

// openRoot reads the prolog and the start tag of the root, which must be
// <xml>, and reports whether the root is self-closing.
func (d *xmlScanner) openRoot() (empty bool, err error) {
	d.pos = skipBOM(d.s)
	if err := d.skipMisc(); err != nil {
		return false, err
	}
	if d.pos >= len(d.s) || d.s[d.pos] != '<' {
		return false, d.errorf("no root element")
	}
	root, empty, err := d.startTag()
	if err != nil {
		return false, err
	}
	if root != "xml" {
		return false, d.errorf("root element is " + tag("<", root) + ", want <xml>")
	}
	return empty, nil
}

// finish checks that only comments, processing instructions and white
// space follow the root element.
func (d *xmlScanner) finish() error {
	if err := d.skipMisc(); err != nil {
		return err
	}
	if d.pos != len(d.s) {
		return d.errorf("content after the root element")
	}
	return nil
}

// value reads the text of the element name whose start tag was just read.
func (d *xmlScanner) value(name string, empty bool) (string, error) {
	if empty {
		return "", nil
	}
	t, _, err := d.text(name)
	return t, err
}

// field reads one child of the root, other than the items, into m.
func (d *xmlScanner) field(m *Message, name string, empty bool) error {
	var (
		dst *string
		t   string
		err error
	)
	switch name {
	case "ToUserName":
		dst = &m.ToUserName
	case "FromUserName":
		dst = &m.FromUserName
	case "MsgType":
		dst = &m.MsgType
	case "Event":
		dst = &m.Event
	case "Content":
		dst = &m.Content
	case "PicUrl":
		dst = &m.PicURL
	case "MediaId":
		dst = &m.MediaID
	case "Title":
		dst = &m.Title
	case "AppId":
		dst = &m.AppID
	case "PagePath":
		dst = &m.PagePath
	case "ThumbUrl":
		dst = &m.ThumbURL
	case "ThumbMediaId":
		dst = &m.ThumbMediaID
	case "SessionFrom":
		dst = &m.SessionFrom
	case "Encrypt":
		dst = &m.Encrypt
	case "CreateTime":
		start := d.pos
		if t, err = d.value(name, empty); err == nil {
			if m.CreateTime, err = parseInt(t); err != nil {
				return malformed("xml", start, "CreateTime: "+err.Error())
			}
		}
		return err
	case "MsgId", "MsgID":
		start := d.pos
		if t, err = d.value(name, empty); err == nil {
			if m.MsgID, err = parseID(t); err != nil {
				return malformed("xml", start, err.Error())
			}
		}
		return err
	default:
		if empty {
			return nil
		}
		return d.skip(name)
	}
	*dst, err = d.value(name, empty)
	return err
}

// item reads one <List> item, whose start tag was just read.
func (d *xmlScanner) item(empty bool) (SubscribeItem, error) {
	var it SubscribeItem
	for !empty {
		name, emptyChild, done, err := d.child("List")
		if err != nil {
			return it, err
		}
		if done {
			break
		}
		var t string
		start := d.pos
		switch name {
		case "TemplateId":
			it.TemplateID, err = d.value(name, emptyChild)
		case "SubscribeStatusString":
			it.Status, err = d.value(name, emptyChild)
		case "ErrorStatus":
			it.ErrorStatus, err = d.value(name, emptyChild)
		case "PopupScene":
			if t, err = d.value(name, emptyChild); err == nil {
				if it.PopupScene, err = parseInt(t); err != nil {
					err = malformed("xml", start, "PopupScene: "+err.Error())
				}
			}
		case "ErrorCode":
			if t, err = d.value(name, emptyChild); err == nil {
				if it.ErrorCode, err = parseInt(t); err != nil {
					err = malformed("xml", start, "ErrorCode: "+err.Error())
				}
			}
		case "MsgID", "MsgId":
			if t, err = d.value(name, emptyChild); err == nil {
				if it.MsgID, err = parseID(t); err != nil {
					err = malformed("xml", start, err.Error())
				}
			}
		default:
			if !emptyChild {
				err = d.skip(name)
			}
		}
		if err != nil {
			return it, err
		}
	}
	return it, nil
}
