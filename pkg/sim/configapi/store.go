package configapi

import (
	"bytes"
	"encoding/json"
	"maps"
	"net/netip"
	"slices"
	"strings"
	"time"
)

// object is one stored config object.
type object struct {
	typ        string
	uuid       string
	fqName     []string
	parentType string // empty for objects under config-root
	parentUUID string
	// props holds every property as the JSON the client sent or the server
	// filled in, keyed by the underscored field name.
	props map[string]json.RawMessage
	// refs holds the object's references, keyed by the referred type.
	refs     map[string][]ref
	seq      uint64 // creation order
	created  time.Time
	modified time.Time
}

// ref is one reference from an object to another.
type ref struct {
	uuid string
	attr json.RawMessage // nil when the reference has no attribute
}

func (o *object) clone() *object {
	c := *o
	c.fqName = slices.Clone(o.fqName)
	c.props = maps.Clone(o.props)
	c.refs = make(map[string][]ref, len(o.refs))
	for typ, list := range o.refs {
		c.refs[typ] = slices.Clone(list)
	}
	return &c
}

// prop decodes property key into dst and reports whether it was present
// and not null.
func (o *object) prop(key string, dst any) bool {
	raw, ok := o.props[key]
	if !ok || isNull(raw) {
		return false
	}
	return json.Unmarshal(raw, dst) == nil
}

func (o *object) setProp(key string, v any) {
	raw, err := json.Marshal(v)
	if err != nil {
		// Only values built by this package reach here, and they always marshal.
		panic("configapi: marshal property " + key + ": " + err.Error())
	}
	o.props[key] = raw
}

func (o *object) firstRef(typ string) (ref, bool) {
	list := o.refs[typ]
	if len(list) == 0 {
		return ref{}, false
	}
	return list[0], true
}

func (o *object) hasRefTo(uuid string) bool {
	for _, list := range o.refs {
		for _, r := range list {
			if r.uuid == uuid {
				return true
			}
		}
	}
	return false
}

func isNull(raw json.RawMessage) bool {
	return len(bytes.TrimSpace(raw)) == 0 || bytes.Equal(bytes.TrimSpace(raw), []byte("null"))
}

// allocation records the subnet an instance-ip address was taken from.
type allocation struct {
	subnetUUID string
	addr       netip.Addr
}

// store is the in-memory config database. It is not safe for concurrent
// use, so Server serializes every access with its mutex.
type store struct {
	objects  map[string]*object
	byFQName map[string]string
	// backRefs maps a referred uuid to the uuids of the objects that refer to it.
	backRefs map[string]map[string]struct{}
	// children maps a parent uuid to the uuids of its children.
	children map[string]map[string]struct{}
	// allocated maps a subnet uuid to its used addresses and the uuid of the
	// instance-ip that holds each one.
	allocated map[string]map[netip.Addr]string
	// instanceIPs maps an instance-ip uuid to its address allocation.
	instanceIPs map[string]allocation
	// scanHints maps a subnet uuid to where the allocator's next scan of
	// each address range resumes (scanRange).
	scanHints map[string]map[scanKey]netip.Addr

	seq           uint64
	nextNetworkID int64
	now           func() time.Time
}

func newStore() *store {
	return &store{
		objects:       map[string]*object{},
		byFQName:      map[string]string{},
		backRefs:      map[string]map[string]struct{}{},
		children:      map[string]map[string]struct{}{},
		allocated:     map[string]map[netip.Addr]string{},
		instanceIPs:   map[string]allocation{},
		scanHints:     map[string]map[scanKey]netip.Addr{},
		nextNetworkID: 1,
		now:           time.Now,
	}
}

func fqKey(typ string, fq []string) string {
	return typ + "\x00" + strings.Join(fq, "\x00")
}

func (s *store) lookupFQName(typ string, fq []string) (*object, bool) {
	uuid, ok := s.byFQName[fqKey(typ, fq)]
	if !ok {
		return nil, false
	}
	return s.objects[uuid], true
}

// lookup returns the object with uuid if it has type typ.
func (s *store) lookup(typ, uuid string) (*object, bool) {
	o, ok := s.objects[uuid]
	if !ok || o.typ != typ {
		return nil, false
	}
	return o, true
}

// timestamp returns the current time, strictly after prev, so that every
// update changes the ETag that is derived from last_modified.
func (s *store) timestamp(prev time.Time) time.Time {
	t := s.now().UTC().Truncate(time.Microsecond)
	if !t.After(prev) {
		t = prev.Add(time.Microsecond)
	}
	return t
}

func (s *store) insert(o *object) {
	s.seq++
	o.seq = s.seq
	s.objects[o.uuid] = o
	s.byFQName[fqKey(o.typ, o.fqName)] = o.uuid
	if o.parentUUID != "" {
		addIndex(s.children, o.parentUUID, o.uuid)
	}
	s.indexRefs(o)
}

// replace swaps the stored version of an object for an updated copy and
// updates the back-ref index for the refs that changed.
func (s *store) replace(old, updated *object) {
	for typ := range old.refs {
		if _, ok := updated.refs[typ]; !ok {
			s.reindexRefs(old.uuid, old.refs[typ], nil)
		}
	}
	for typ, list := range updated.refs {
		s.reindexRefs(old.uuid, old.refs[typ], list)
	}
	s.objects[updated.uuid] = updated
}

// reindexRefs updates the back-refs of referrer when its list of refs to
// one type changes from before to after. Each list has a uuid at most once,
// because resolveRefs and refUpdate build every list with upsertRef. Only
// the part between the lists' common prefix and common suffix can differ,
// so an update that adds or removes one ref, such as a ref-update of a
// virtual-router with thousands of VM refs, changes one index entry instead
// of removing and adding every one.
func (s *store) reindexRefs(referrer string, before, after []ref) {
	prefix := 0
	for prefix < len(before) && prefix < len(after) && before[prefix].uuid == after[prefix].uuid {
		prefix++
	}
	suffix := 0
	for suffix < len(before)-prefix && suffix < len(after)-prefix &&
		before[len(before)-1-suffix].uuid == after[len(after)-1-suffix].uuid {
		suffix++
	}
	removed := before[prefix : len(before)-suffix]
	added := after[prefix : len(after)-suffix]

	// A ref that moved within the changed part stays in the index.
	inAdded := make(map[string]bool, len(added))
	for _, r := range added {
		inAdded[r.uuid] = true
	}
	inRemoved := make(map[string]bool, len(removed))
	for _, r := range removed {
		inRemoved[r.uuid] = true
		if !inAdded[r.uuid] {
			removeIndex(s.backRefs, r.uuid, referrer)
		}
	}
	for _, r := range added {
		if !inRemoved[r.uuid] {
			addIndex(s.backRefs, r.uuid, referrer)
		}
	}
}

func (s *store) remove(o *object) {
	s.unindexRefs(o)
	if o.parentUUID != "" {
		removeIndex(s.children, o.parentUUID, o.uuid)
	}
	delete(s.byFQName, fqKey(o.typ, o.fqName))
	delete(s.objects, o.uuid)
}

func (s *store) indexRefs(o *object) {
	for _, list := range o.refs {
		for _, r := range list {
			addIndex(s.backRefs, r.uuid, o.uuid)
		}
	}
}

func (s *store) unindexRefs(o *object) {
	for _, list := range o.refs {
		for _, r := range list {
			removeIndex(s.backRefs, r.uuid, o.uuid)
		}
	}
}

func addIndex(index map[string]map[string]struct{}, key, value string) {
	set, ok := index[key]
	if !ok {
		set = map[string]struct{}{}
		index[key] = set
	}
	set[value] = struct{}{}
}

func removeIndex(index map[string]map[string]struct{}, key, value string) {
	set := index[key]
	delete(set, value)
	if len(set) == 0 {
		delete(index, key)
	}
}

// referrers returns the objects of type typ (any type when typ is empty)
// that refer to uuid, ordered by uuid.
func (s *store) referrers(uuid, typ string) []*object {
	return s.collect(s.backRefs[uuid], typ)
}

// childrenOf returns the children of uuid of type typ (any type when typ is
// empty), ordered by uuid.
func (s *store) childrenOf(uuid, typ string) []*object {
	return s.collect(s.children[uuid], typ)
}

func (s *store) collect(set map[string]struct{}, typ string) []*object {
	var out []*object
	for uuid := range set {
		o := s.objects[uuid]
		if o != nil && (typ == "" || o.typ == typ) {
			out = append(out, o)
		}
	}
	slices.SortFunc(out, func(a, b *object) int { return strings.Compare(a.uuid, b.uuid) })
	return out
}

// objectsOfType returns every object of type typ, ordered by uuid.
func (s *store) objectsOfType(typ string) []*object {
	var out []*object
	for _, o := range s.objects {
		if o.typ == typ {
			out = append(out, o)
		}
	}
	slices.SortFunc(out, func(a, b *object) int { return strings.Compare(a.uuid, b.uuid) })
	return out
}
