package memory

import "time"

// minSlots is the size of a shard's first table, a power of two.
const minSlots = 256

// dedupeTable maps the hash of a key to its record: an open-addressed hash
// table with linear probing, holding no pointers. Slots are filled to at
// most three quarters, so a probe always ends at an empty slot. When a
// table fills up it is rebuilt without its expired records, at a size that
// leaves room for what is left to double before the next rebuild, so that
// rebuilding costs O(1) per record set on average and a table shrinks
// again once a burst has expired.
//
// A record is found from its home slot (the low bits of the key's second
// hash; the first picks the shard) onward. Removing one shifts the records
// after it back, rather than leaving a marker, so that probes stay short.
type dedupeTable struct {
	slots []dedupeSlot // len is 0 or a power of two
	n     int          // slots holding a record, expired or not
}

type dedupeSlot struct {
	h [2]uint64
	e dedupeEntry // 0 when the slot is empty
}

// home returns the slot a probe for h starts at; mask is len(slots)-1.
func home(h [2]uint64, mask int) int { return int(h[1]) & mask }

// find returns the index of h's slot, or of the empty slot where h would
// go. The table must have slots.
func (t *dedupeTable) find(h [2]uint64) int {
	mask := len(t.slots) - 1
	for i := home(h, mask); ; i = (i + 1) & mask {
		s := &t.slots[i]
		if s.e == 0 || s.h == h {
			return i
		}
	}
}

// get returns h's record, or 0.
func (t *dedupeTable) get(h [2]uint64) dedupeEntry {
	if len(t.slots) == 0 {
		return 0
	}
	return t.slots[t.find(h)].e
}

// set stores e (not 0) under h, first rebuilding the table at now if
// a new record would fill it past three quarters.
func (t *dedupeTable) set(h [2]uint64, e dedupeEntry, now time.Duration) {
	if len(t.slots) > 0 {
		i := t.find(h)
		if s := &t.slots[i]; s.e != 0 {
			s.e = e
			return
		}
		if 4*(t.n+1) <= 3*len(t.slots) {
			t.slots[i] = dedupeSlot{h: h, e: e}
			t.n++
			return
		}
	}
	// The table is missing or full: the slot found is gone with it.
	t.rebuild(now)
	t.slots[t.find(h)] = dedupeSlot{h: h, e: e}
	t.n++
}

// remove drops h's record, if there is one.
func (t *dedupeTable) remove(h [2]uint64) {
	if len(t.slots) == 0 {
		return
	}
	mask := len(t.slots) - 1
	hole := t.find(h)
	if t.slots[hole].e == 0 {
		return
	}
	t.n--
	// Shift back every record of the run after the hole that may move
	// into it: one whose home is not in (hole, j] cyclically, so that its
	// probe, which starts at home, would otherwise stop at the hole.
	for j := (hole + 1) & mask; t.slots[j].e != 0; j = (j + 1) & mask {
		k := home(t.slots[j].h, mask)
		if (j-k)&mask >= (j-hole)&mask {
			t.slots[hole] = t.slots[j]
			hole = j
		}
	}
	t.slots[hole] = dedupeSlot{}
}

// rebuild replaces the slots with a table of only the records not yet
// expired at now, sized so that they fill at most three eighths of it.
func (t *dedupeTable) rebuild(now time.Duration) {
	live := 0
	for i := range t.slots {
		if e := t.slots[i].e; e != 0 && now < e.expires() {
			live++
		}
	}
	size := minSlots
	// At most 3/8 full, the records can double before the table fills to
	// 3/4 and is rebuilt again. The +1 is the record about to be set.
	for 8*(live+1) > 3*size {
		size *= 2
	}
	old := t.slots
	t.slots, t.n = make([]dedupeSlot, size), 0
	for i := range old {
		if s := old[i]; s.e != 0 && now < s.e.expires() {
			t.slots[t.find(s.h)] = s
			t.n++
		}
	}
}
