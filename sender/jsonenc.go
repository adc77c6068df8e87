package sender

import (
	"bytes"
	"errors"

	"github.com/goccy/go-json"
)

// idString decodes an id WeChat writes as a number or as a string (msgid
// can exceed 2⁵³, so it is kept as text).
type idString string

var errBadID = errors.New("wxsub/sender: id is neither a number nor a string")

// UnmarshalJSON takes a JSON number or string; null leaves it empty.
func (id *idString) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0:
		return errBadID
	case b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*id = idString(s)
	case string(b) == "null":
	case b[0] == '-' || b[0] >= '0' && b[0] <= '9':
		for _, c := range b {
			if !(c >= '0' && c <= '9' || c == '-' || c == '.' || c == 'e' || c == 'E' || c == '+') {
				return errBadID
			}
		}
		*id = idString(b)
	default:
		return errBadID
	}
	return nil
}
