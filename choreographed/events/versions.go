package events

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// FirstVersion is the oldest schema version of every type: this software
// reads every version of a type from the first up to the newest it reads
// (see Reader), upcasting the older ones.
const FirstVersion = 1

// SchemaVersion returns the newest version of t's payload this software
// knows: the version it writes unless told otherwise (see Versions) and
// the newest it reads. See doc.go, "Versions", for when it changes.
func (t Type) SchemaVersion() int {
	if t == OrderCompleted {
		return 2 // v2 adds customer_id and completed_at
	}
	return 1
}

// MinReader returns the oldest reader version that can read version v of
// t: lower than v for an additive version (its reader ignores what it does
// not know), v itself for a change older readers cannot ignore. It is
// what an envelope's min_reader_version says.
func (t Type) MinReader(v int) int {
	if t == OrderCompleted && v == 2 {
		return 1 // additive: a v1 reader reads v2 as v1
	}
	return v
}

// Versions gives a schema version per event type: the versions a producer
// writes, or the newest a consumer reads. A type it does not name is at
// its newest (Type.SchemaVersion); a nil Versions names none.
type Versions map[Type]int

// Of returns the version of type t.
func (vs Versions) Of(t Type) int {
	if v, ok := vs[t]; ok {
		return v
	}
	return t.SchemaVersion()
}

// Check reports every version that names a type unknown to table t, or a
// version the type does not have (below FirstVersion or above its
// newest).
func (vs Versions) Check(t *Table) error {
	var bad []string
	for _, typ := range slices.Sorted(maps.Keys(vs)) {
		v := vs[typ]
		if _, ok := t.Producer(typ); !ok {
			bad = append(bad, fmt.Sprintf("%s is not an event type", typ))
			continue
		}
		if v < FirstVersion || v > typ.SchemaVersion() {
			bad = append(bad, fmt.Sprintf("%s has no version %d (versions %d to %d)", typ, v, FirstVersion, typ.SchemaVersion()))
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("event versions: %s", strings.Join(bad, "; "))
	}
	return nil
}

// String writes the versions as ParseVersions reads them, by type.
func (vs Versions) String() string {
	items := make([]string, 0, len(vs))
	for typ, v := range vs {
		items = append(items, string(typ)+"="+strconv.Itoa(v))
	}
	slices.Sort(items)
	return strings.Join(items, ",")
}

// ParseVersions reads versions written Type=version, one an item
// (OrderCompleted=1), as the -event-versions flag takes them. It checks
// the form only; see Check.
func ParseVersions(items []string) (Versions, error) {
	vs := Versions{}
	for _, item := range items {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		name, num, ok := strings.Cut(item, "=")
		v, err := strconv.Atoi(strings.TrimSpace(num))
		name = strings.TrimSpace(name)
		if !ok || name == "" || err != nil {
			return nil, fmt.Errorf("event version %q is not Type=version", item)
		}
		if _, dup := vs[Type(name)]; dup {
			return nil, fmt.Errorf("event version of %s given twice", name)
		}
		vs[Type(name)] = v
	}
	return vs, nil
}

// Reader says which versions of each event type a consumer reads: every
// version from FirstVersion up to its newest (Newest.Of the type), and
// any newer version whose min_reader_version is at most that newest,
// which it reads as its newest, ignoring the fields it does not know. The
// zero Reader reads what this software knows.
type Reader struct {
	// Newest is the newest version read of each type.
	Newest Versions
}

// Read returns the envelope as the reader reads it: a copy whose payload
// As and AsStep decode at the reader's version of it (see ReadVersion).
// An event the reader cannot read (newer than its newest, and not
// readable by it: see Type.MinReader) is an error wrapping
// ErrUnsupportedVersion; consumers dead-letter it, to be replayed once
// they read it.
func (r Reader) Read(e *Envelope) (*Envelope, error) {
	newest := r.Newest.Of(e.Type)
	read := e.SchemaVersion
	if read > newest {
		if oldest := e.minReader(); oldest > newest {
			return nil, fmt.Errorf("%w: event %s is %s v%d, readable from v%d on; this consumer reads up to v%d",
				ErrUnsupportedVersion, e.EventID, e.Type, e.SchemaVersion, oldest, newest)
		}
		read = newest
	}
	out := *e
	out.readAs = read
	return &out, nil
}

// upcaster is a payload type with more than one version: once its JSON
// is decoded, it turns what was read as an older version into the newest.
type upcaster interface {
	// upcastFrom adapts the payload of e, read as version v (older than
	// the newest): it forgets the fields v does not have, which an older
	// reader never sees, then fills what it can and marks the rest
	// missing.
	upcastFrom(v int, e *Envelope)
}

// downcaster is a payload type with more than one version: it writes
// itself at an older version.
type downcaster interface {
	// writeAs returns what to encode to write the payload as version v,
	// older than the newest.
	writeAs(v int) any
}
