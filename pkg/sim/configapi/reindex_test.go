package configapi

import (
	"fmt"
	"maps"
	"slices"
	"testing"
)

// refList returns refs to the given uuids, in order.
func refList(uuids ...string) []ref {
	out := make([]ref, 0, len(uuids))
	for _, u := range uuids {
		out = append(out, ref{uuid: u})
	}
	return out
}

// wantBackRefs returns the back-ref index that a full rebuild from objects
// gives.
func wantBackRefs(objects ...*object) map[string]map[string]struct{} {
	out := map[string]map[string]struct{}{}
	for _, o := range objects {
		for _, list := range o.refs {
			for _, r := range list {
				addIndex(out, r.uuid, o.uuid)
			}
		}
	}
	return out
}

func TestReplaceReindexesChangedRefs(t *testing.T) {
	tests := []struct {
		name          string
		before, after map[string][]ref
	}{
		{"unchanged", map[string][]ref{"a": refList("1", "2", "3")}, map[string][]ref{"a": refList("1", "2", "3")}},
		{"append", map[string][]ref{"a": refList("1", "2")}, map[string][]ref{"a": refList("1", "2", "3")}},
		{"prepend", map[string][]ref{"a": refList("2", "3")}, map[string][]ref{"a": refList("1", "2", "3")}},
		{"remove first", map[string][]ref{"a": refList("1", "2", "3")}, map[string][]ref{"a": refList("2", "3")}},
		{"remove middle", map[string][]ref{"a": refList("1", "2", "3")}, map[string][]ref{"a": refList("1", "3")}},
		{"remove last", map[string][]ref{"a": refList("1", "2", "3")}, map[string][]ref{"a": refList("1", "2")}},
		{"replace middle", map[string][]ref{"a": refList("1", "2", "3")}, map[string][]ref{"a": refList("1", "4", "3")}},
		{"swap", map[string][]ref{"a": refList("1", "2", "3", "4")}, map[string][]ref{"a": refList("1", "3", "2", "4")}},
		{"reverse", map[string][]ref{"a": refList("1", "2", "3")}, map[string][]ref{"a": refList("3", "2", "1")}},
		{"move to end", map[string][]ref{"a": refList("1", "2", "3")}, map[string][]ref{"a": refList("2", "3", "1")}},
		{"replace all", map[string][]ref{"a": refList("1", "2")}, map[string][]ref{"a": refList("3", "4", "5")}},
		{"clear", map[string][]ref{"a": refList("1", "2")}, map[string][]ref{}},
		{"new type", map[string][]ref{"a": refList("1")}, map[string][]ref{"a": refList("1"), "b": refList("9")}},
		{"type dropped", map[string][]ref{"a": refList("1"), "b": refList("9")}, map[string][]ref{"a": refList("1")}},
		{"from none", map[string][]ref{}, map[string][]ref{"a": refList("1", "2")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore()
			// Another object refers to some of the same targets, and its
			// back-refs must survive the update.
			other := &object{uuid: "other", refs: map[string][]ref{"a": refList("2", "4")}}
			old := &object{uuid: "referrer", refs: tt.before}
			s.insert(other)
			s.insert(old)

			updated := old.clone()
			updated.refs = tt.after
			s.replace(old, updated)

			if want := wantBackRefs(other, updated); !maps.EqualFunc(s.backRefs, want, maps.Equal) {
				t.Errorf("back-refs = %v, want %v", s.backRefs, want)
			}
			if s.objects["referrer"] != updated {
				t.Error("replace did not store the updated object")
			}
		})
	}
}

// TestReplaceManyRefUpdates adds and removes refs of one object with many
// refs, the way ref-updates of a virtual-router do, and checks the index
// against a full rebuild after each step.
func TestReplaceManyRefUpdates(t *testing.T) {
	s := newStore()
	router := &object{uuid: "router", refs: map[string][]ref{}}
	s.insert(router)

	current := router
	apply := func(list []ref) {
		updated := current.clone()
		if len(list) == 0 {
			delete(updated.refs, typeVirtualMachine)
		} else {
			updated.refs[typeVirtualMachine] = list
		}
		s.replace(current, updated)
		current = updated
	}
	for i := range 50 {
		apply(upsertRef(slices.Clone(current.refs[typeVirtualMachine]), ref{uuid: fmt.Sprintf("vm-%02d", i)}))
	}
	for _, i := range []int{0, 49, 25, 26, 10} {
		apply(removeRef(current.refs[typeVirtualMachine], fmt.Sprintf("vm-%02d", i)))
		if want := wantBackRefs(current); !maps.EqualFunc(s.backRefs, want, maps.Equal) {
			t.Fatalf("after removing vm-%02d: back-refs = %v, want %v", i, s.backRefs, want)
		}
	}
	if got := len(s.backRefs); got != 45 {
		t.Errorf("index has %d targets, want 45", got)
	}
	if _, ok := s.backRefs["vm-25"]; ok {
		t.Error("removed ref to vm-25 is still indexed")
	}
}
