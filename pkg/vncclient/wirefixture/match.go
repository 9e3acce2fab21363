package wirefixture

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/google/uuid"
)

// placeholder matches one placeholder in a fixture string.
var placeholder = regexp.MustCompile(`<(uuid(?::[A-Za-z0-9_-]+)?|base|any)>`)

// Patterns that unbound placeholders match.
const (
	uuidPattern = `[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`
	basePattern = `https?://[^/\s'"]+`
)

// anyValue is the placeholder that stands for a whole JSON value.
const anyValue = "<any>"

// maxMismatches bounds how many differences an error lists.
const maxMismatches = 20

// Bindings holds the values of placeholders: "base" for <base> and
// "uuid:NAME" for <uuid:NAME>. Expanding or matching a placeholder that is
// not bound yet binds it.
type Bindings struct {
	values map[string]string
	// NewUUID makes the uuid of an unbound <uuid:NAME> or of <uuid> when
	// expanding. Nil means random version 4 uuids.
	NewUUID func() string
}

// NewBindings returns bindings with <base> bound to base, the server's
// scheme and host, for example "http://127.0.0.1:8082".
func NewBindings(base string) *Bindings {
	return &Bindings{values: map[string]string{"base": strings.TrimRight(base, "/")}}
}

// Get returns the value of placeholder name, for example "uuid:vn".
func (b *Bindings) Get(name string) (string, bool) {
	v, ok := b.values[name]
	return v, ok
}

// Set binds placeholder name to value.
func (b *Bindings) Set(name, value string) {
	b.values[name] = value
}

func (b *Bindings) newUUID() string {
	if b.NewUUID != nil {
		return b.NewUUID()
	}
	return uuid.NewString()
}

// Expand replaces the placeholders in s with their values, binding new
// uuids to unbound names. <any> inside a string expands to nothing.
func (b *Bindings) Expand(s string) (string, error) {
	var err error
	out := placeholder.ReplaceAllStringFunc(s, func(p string) string {
		name := p[1 : len(p)-1]
		switch {
		case name == "any":
			return ""
		case name == "uuid":
			return b.newUUID()
		case name == "base":
			v, ok := b.values["base"]
			if !ok {
				err = errors.New("<base> is not bound")
			}
			return v
		}
		v, ok := b.values[name]
		if !ok {
			v = b.newUUID()
			b.values[name] = v
		}
		return v
	})
	return out, err
}

// ExpandJSON expands the placeholders in every string of the JSON value
// raw. A string that is exactly <any> becomes null. An empty raw stays
// empty.
func (b *Bindings) ExpandJSON(raw json.RawMessage) (json.RawMessage, error) {
	if len(raw) == 0 {
		return nil, nil
	}
	v, err := decode(raw)
	if err != nil {
		return nil, err
	}
	expanded, err := b.expandValue(v)
	if err != nil {
		return nil, err
	}
	return json.Marshal(expanded)
}

func (b *Bindings) expandValue(v any) (any, error) {
	switch v := v.(type) {
	case string:
		if v == anyValue {
			return nil, nil
		}
		return b.Expand(v)
	case map[string]any:
		out := make(map[string]any, len(v))
		// Visit keys in order, so that the same fixture always binds the
		// same generated uuids to the same places.
		for _, key := range slices.Sorted(maps.Keys(v)) {
			e, err := b.expandValue(v[key])
			if err != nil {
				return nil, err
			}
			out[key] = e
		}
		return out, nil
	case []any:
		out := make([]any, len(v))
		for i, item := range v {
			e, err := b.expandValue(item)
			if err != nil {
				return nil, err
			}
			out[i] = e
		}
		return out, nil
	}
	return v, nil
}

// MatchJSON compares the JSON document got with the fixture value want.
// Objects must have the same keys, arrays the same length and order, and
// strings must match their placeholders. It binds the placeholders it
// meets and returns an error that lists the differences by JSON path.
func (b *Bindings) MatchJSON(want json.RawMessage, got []byte) error {
	w, err := decode(want)
	if err != nil {
		return fmt.Errorf("fixture: %w", err)
	}
	g, err := decode(got)
	if err != nil {
		return fmt.Errorf("response %q: %w", got, err)
	}
	var diffs []string
	b.matchValue("$", w, g, &diffs)
	if len(diffs) > 0 {
		return errors.New(strings.Join(diffs, "\n"))
	}
	return nil
}

// MatchText compares got with the fixture string want.
func (b *Bindings) MatchText(want, got string) error {
	if !b.matchString(want, got) {
		return fmt.Errorf("text %q does not match %q", got, want)
	}
	return nil
}

// MatchPath compares the request target got (path and query) with the
// fixture path want. Query parameters may come in any order.
func (b *Bindings) MatchPath(want, got string) error {
	wantPath, wantQuery, _ := strings.Cut(want, "?")
	gotPath, gotQuery, _ := strings.Cut(got, "?")
	if !b.matchString(wantPath, gotPath) {
		return fmt.Errorf("path %q does not match %q", gotPath, wantPath)
	}
	wq, err := url.ParseQuery(wantQuery)
	if err != nil {
		return fmt.Errorf("fixture query %q: %w", wantQuery, err)
	}
	gq, err := url.ParseQuery(gotQuery)
	if err != nil {
		return fmt.Errorf("query %q: %w", gotQuery, err)
	}
	for k := range gq {
		if _, ok := wq[k]; !ok {
			return fmt.Errorf("query %q has parameter %q, which the fixture %q lacks", gotQuery, k, wantQuery)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(wq)) {
		if len(wq[k]) != len(gq[k]) {
			return fmt.Errorf("query parameter %q = %q, want %q", k, gq[k], wq[k])
		}
		for i := range wq[k] {
			if !b.matchString(wq[k][i], gq[k][i]) {
				return fmt.Errorf("query parameter %q = %q, want %q", k, gq[k][i], wq[k][i])
			}
		}
	}
	return nil
}

func (b *Bindings) matchValue(path string, want, got any, diffs *[]string) {
	if len(*diffs) >= maxMismatches {
		return
	}
	mismatch := func(format string, args ...any) {
		*diffs = append(*diffs, path+": "+fmt.Sprintf(format, args...))
	}
	if s, ok := want.(string); ok && s == anyValue {
		return
	}
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			mismatch("got %s, want an object", describe(got))
			return
		}
		for _, key := range slices.Sorted(maps.Keys(w)) {
			item, ok := g[key]
			if !ok {
				mismatch("missing key %q", key)
				continue
			}
			b.matchValue(path+"."+key, w[key], item, diffs)
		}
		for _, key := range slices.Sorted(maps.Keys(g)) {
			if _, ok := w[key]; !ok {
				mismatch("unexpected key %q = %s", key, describe(g[key]))
			}
		}
	case []any:
		g, ok := got.([]any)
		if !ok {
			mismatch("got %s, want an array", describe(got))
			return
		}
		if len(g) != len(w) {
			mismatch("got %d elements %s, want %d", len(g), describe(got), len(w))
			return
		}
		for i := range w {
			b.matchValue(fmt.Sprintf("%s[%d]", path, i), w[i], g[i], diffs)
		}
	case string:
		g, ok := got.(string)
		if !ok || !b.matchString(w, g) {
			mismatch("got %s, want %q", describe(got), w)
		}
	case json.Number:
		g, ok := got.(json.Number)
		if !ok || !sameNumber(w, g) {
			mismatch("got %s, want %s", describe(got), w)
		}
	default: // bool or nil
		if want != got {
			mismatch("got %s, want %s", describe(got), describe(want))
		}
	}
}

// matchString matches got against want with its placeholders, checks that
// every <uuid:NAME> and <base> equals its binding, and binds new ones.
func (b *Bindings) matchString(want, got string) bool {
	var pattern strings.Builder
	var names []string // the placeholder name of each capture group
	pattern.WriteString("^")
	last := 0
	for _, loc := range placeholder.FindAllStringIndex(want, -1) {
		pattern.WriteString(regexp.QuoteMeta(want[last:loc[0]]))
		name := want[loc[0]+1 : loc[1]-1]
		switch {
		case name == "any":
			pattern.WriteString("(.*?)")
		case name == "base":
			pattern.WriteString("(" + basePattern + ")")
		default:
			pattern.WriteString("(" + uuidPattern + ")")
		}
		names = append(names, name)
		last = loc[1]
	}
	pattern.WriteString(regexp.QuoteMeta(want[last:]))
	pattern.WriteString("$")

	m := regexp.MustCompile(pattern.String()).FindStringSubmatch(got)
	if m == nil {
		return false
	}
	found := map[string]string{}
	for i, name := range names {
		if name == "any" || name == "uuid" {
			continue
		}
		value := m[i+1]
		if bound, ok := b.values[name]; ok && bound != value {
			return false
		}
		if seen, ok := found[name]; ok && seen != value {
			return false
		}
		found[name] = value
	}
	for name, value := range found {
		b.values[name] = value
	}
	return true
}

func decode(raw []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("decode JSON: %w", err)
	}
	return v, nil
}

func sameNumber(a, b json.Number) bool {
	if a == b {
		return true
	}
	x, errA := a.Float64()
	y, errB := b.Float64()
	return errA == nil && errB == nil && x == y
}

func describe(v any) string {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%v", v)
	}
	if len(data) > 200 {
		return string(data[:200]) + "..."
	}
	return string(data)
}
