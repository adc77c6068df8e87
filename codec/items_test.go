package codec

import (
	"testing"
)

// TestDecodeItemsBuffer checks that Decode stores the items in the memory
// a caller provides in an empty m.Items, and nowhere else.
func TestDecodeItemsBuffer(t *testing.T) {
	c, err := NewCipher(keyV3, appV3)
	if err != nil {
		t.Fatal(err)
	}
	decoders := []struct {
		name   string
		decode func(body []byte, m *Message) error
	}{
		{"Decode", Decode},
		{"DecryptMessage", func(body []byte, m *Message) error {
			return c.DecryptMessage(c.EncryptWithPrefix(prefixOf("0123456789abcdef"), body), m)
		}},
	}
	tests := []struct {
		file     string
		buf      []SubscribeItem // m.Items on entry
		inBuffer bool            // the items must land in buf
	}{
		{"popup.xml", make([]SubscribeItem, 0, 3), true},
		{"popup.json", make([]SubscribeItem, 0, 2), true},
		{"popup.xml", make([]SubscribeItem, 0, 1), false},  // too small
		{"popup.json", make([]SubscribeItem, 1, 3), false}, // not empty: a reused message
		{"popup.xml", nil, false},
	}
	for _, d := range decoders {
		for _, tt := range tests {
			want := decodeCases[tt.file].Items
			m := Message{Items: tt.buf}
			if err := d.decode(readTestdata(t, tt.file), &m); err != nil {
				t.Fatalf("%s(%s): %v", d.name, tt.file, err)
			}
			if len(m.Items) != len(want) {
				t.Fatalf("%s(%s): %d items, want %d", d.name, tt.file, len(m.Items), len(want))
			}
			for i := range want {
				if m.Items[i] != want[i] {
					t.Errorf("%s(%s): item %d = %+v, want %+v", d.name, tt.file, i, m.Items[i], want[i])
				}
			}
			inBuffer := cap(tt.buf) > 0 && &m.Items[0] == &tt.buf[:1][0]
			if inBuffer != tt.inBuffer {
				t.Errorf("%s(%s, len %d cap %d): items in the caller's buffer = %v, want %v",
					d.name, tt.file, len(tt.buf), cap(tt.buf), inBuffer, tt.inBuffer)
			}
			if !tt.inBuffer && cap(tt.buf) > 0 && tt.buf[:1][0] != (SubscribeItem{}) {
				t.Errorf("%s(%s): a buffer Decode did not use was written to", d.name, tt.file)
			}
		}
		// A push without items leaves m.Items nil, buffer or not.
		m := Message{Items: make([]SubscribeItem, 0, 3)}
		if err := d.decode(readTestdata(t, "text.xml"), &m); err != nil || m.Items != nil {
			t.Errorf("%s(text.xml): Items = %v, %v; want nil", d.name, m.Items, err)
		}
	}
}

func TestDecodeItemsBufferAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	body := readTestdata(t, "popup.xml")
	var buf [3]SubscribeItem
	allocs := testing.AllocsPerRun(100, func() {
		m := Message{Items: buf[:0]}
		if err := Decode(body, &m); err != nil || len(m.Items) != 2 {
			t.Fatal(err)
		}
	})
	if allocs != 1 {
		t.Errorf("Decode with a buffer for the items: %v allocations, want 1 (Raw)", allocs)
	}
}
