package configapi

import (
	"encoding/json"
	"net/url"
	"slices"
	"strings"
)

// listQuery holds the query parameters of GET /<type>s. A nil filter slice
// means "no filter".
type listQuery struct {
	parentUUIDs  []string
	backRefUUIDs []string
	objUUIDs     []string
	fqNames      []string // fq-names joined with ':'
	filters      map[string]string
	detail       bool
	count        bool
	excludeHrefs bool
	fields       []string
}

// parseListQuery reads the list query parameters the API server accepts.
// parent_fq_name_str with parent_type names the parent by fq-name;
// page_limit and page_marker are not supported and ignored.
func (s *store) parseListQuery(values url.Values) (listQuery, error) {
	q := listQuery{
		parentUUIDs:  splitParam(values, "parent_id"),
		backRefUUIDs: splitParam(values, "back_ref_id"),
		objUUIDs:     splitParam(values, "obj_uuids"),
		fqNames:      splitParam(values, "fq_names"),
		fields:       splitParam(values, "fields"),
		detail:       strings.Contains(strings.ToLower(values.Get("detail")), "true"),
		count:        strings.Contains(strings.ToLower(values.Get("count")), "true"),
		excludeHrefs: values.Has("exclude_hrefs"),
	}

	if values.Has("parent_fq_name_str") && values.Has("parent_type") {
		parentFQ := strings.Split(values.Get("parent_fq_name_str"), ":")
		parent, ok := s.lookupFQName(values.Get("parent_type"), parentFQ)
		if !ok {
			return listQuery{}, notFound("Name %s not found", pyList(parentFQ))
		}
		q.parentUUIDs = []string{parent.uuid}
	}

	if raw := values.Get("filters"); raw != "" {
		q.filters = map[string]string{}
		for _, term := range strings.Split(raw, ",") {
			key, value, ok := strings.Cut(term, "==")
			if !ok || key == "" {
				return listQuery{}, badRequest("Invalid filter %s", raw)
			}
			q.filters[key] = value
		}
	}
	return q, nil
}

func splitParam(values url.Values, key string) []string {
	if !values.Has(key) {
		return nil
	}
	return strings.Split(values.Get(key), ",")
}

// list returns the body of GET /<type>s for query q.
func (s *store) list(typ string, q listQuery, base string) map[string]any {
	collection := collectionName(typ)
	var matches []*object
	for _, o := range s.objectsOfType(typ) {
		if s.matches(o, q) {
			matches = append(matches, o)
		}
	}

	if q.count {
		return map[string]any{collection: map[string]any{"count": len(matches)}}
	}

	opt := renderOptions{base: base, excludeHrefs: q.excludeHrefs}
	if q.fields != nil {
		opt.fields = map[string]bool{}
		for _, f := range q.fields {
			opt.fields[f] = true
		}
	}

	items := make([]any, 0, len(matches))
	for _, o := range matches {
		if q.detail {
			items = append(items, map[string]any{typ: s.render(o, opt)})
			continue
		}
		item := map[string]any{"uuid": o.uuid, "fq_name": o.fqName}
		if !q.excludeHrefs {
			item["href"] = href(base, typ, o.uuid)
		}
		if opt.fields != nil {
			rendered := s.render(o, opt)
			for _, f := range q.fields {
				if v, ok := rendered[f]; ok {
					item[f] = v
				}
			}
		}
		items = append(items, item)
	}
	return map[string]any{collection: items}
}

func (s *store) matches(o *object, q listQuery) bool {
	if q.parentUUIDs != nil && !slices.Contains(q.parentUUIDs, o.parentUUID) {
		return false
	}
	if q.backRefUUIDs != nil && !slices.ContainsFunc(q.backRefUUIDs, o.hasRefTo) {
		return false
	}
	if q.objUUIDs != nil && !slices.Contains(q.objUUIDs, o.uuid) {
		return false
	}
	if q.fqNames != nil && !slices.Contains(q.fqNames, strings.Join(o.fqName, ":")) {
		return false
	}
	for key, want := range q.filters {
		if !propEquals(o, key, want) {
			return false
		}
	}
	return true
}

// propEquals compares a property with a filter value: a string property by
// its text, any other by its compact JSON.
func propEquals(o *object, key, want string) bool {
	raw, ok := o.props[key]
	if !ok {
		return false
	}
	var text string
	if json.Unmarshal(raw, &text) == nil {
		return text == want
	}
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return false
	}
	compact, _ := json.Marshal(v)
	return string(compact) == want
}
