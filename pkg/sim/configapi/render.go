package configapi

import (
	"encoding/json"
	"strconv"
	"time"
)

// renderOptions selects what a rendered object contains.
type renderOptions struct {
	// base is the scheme and host that hrefs start with.
	base string
	// fields, when not nil, limits the properties, refs, back-refs and
	// children to the named fields, as GET ?fields= does.
	fields          map[string]bool
	excludeBackRefs bool
	excludeChildren bool
	excludeHrefs    bool
}

func href(base, typ, uuid string) string {
	return base + "/" + typ + "/" + uuid
}

// alwaysRendered are the fields that GET returns even when ?fields= names
// others.
var alwaysRendered = map[string]bool{"id_perms": true, "perms2": true}

// render builds the JSON object that GET /<type>/<uuid> returns inside its
// type wrapper.
func (s *store) render(o *object, opt renderOptions) map[string]any {
	include := func(field string) bool {
		return opt.fields == nil || opt.fields[field] || alwaysRendered[field]
	}

	out := map[string]any{
		"uuid":    o.uuid,
		"name":    o.fqName[len(o.fqName)-1],
		"fq_name": o.fqName,
	}
	if !opt.excludeHrefs {
		out["href"] = href(opt.base, o.typ, o.uuid)
	}
	if o.parentType != "" {
		out["parent_type"] = o.parentType
		out["parent_uuid"] = o.parentUUID
		if !opt.excludeHrefs {
			out["parent_href"] = href(opt.base, o.parentType, o.parentUUID)
		}
	}

	for key, raw := range o.props {
		if include(key) {
			out[key] = raw
		}
	}

	for typ, list := range o.refs {
		field := refField(typ)
		if !include(field) || len(list) == 0 {
			continue
		}
		links := make([]map[string]any, 0, len(list))
		for _, r := range list {
			links = append(links, s.renderLink(opt, typ, r.uuid, r.attr, true))
		}
		out[field] = links
	}

	if opt.fields != nil || !opt.excludeBackRefs {
		s.renderBackRefs(o, opt, include, out)
	}
	if opt.fields != nil || !opt.excludeChildren {
		for _, child := range s.childrenOf(o.uuid, "") {
			field := childField(child.typ)
			if !include(field) {
				continue
			}
			links, _ := out[field].([]map[string]any)
			out[field] = append(links, s.renderLink(opt, child.typ, child.uuid, nil, false))
		}
	}
	return out
}

func (s *store) renderBackRefs(o *object, opt renderOptions, include func(string) bool, out map[string]any) {
	for _, from := range s.referrers(o.uuid, "") {
		field := backRefField(from.typ)
		if !include(field) {
			continue
		}
		for _, r := range from.refs[o.typ] {
			if r.uuid != o.uuid {
				continue
			}
			links, _ := out[field].([]map[string]any)
			out[field] = append(links, s.renderLink(opt, from.typ, from.uuid, r.attr, true))
		}
	}
}

// renderLink renders one ref, back-ref or child entry. Children carry no
// "attr" key.
func (s *store) renderLink(opt renderOptions, typ, uuid string, attr json.RawMessage, withAttr bool) map[string]any {
	link := map[string]any{"uuid": uuid}
	if target := s.objects[uuid]; target != nil {
		link["to"] = target.fqName
	}
	if !opt.excludeHrefs {
		link["href"] = href(opt.base, typ, uuid)
	}
	if withAttr {
		link["attr"] = attr
	}
	return link
}

// contrailTime formats t the way the API server writes id_perms times.
func contrailTime(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000000")
}

// etag returns the quoted ETag of an object, which Contrail derives from
// id_perms.last_modified.
func etag(o *object) string {
	return strconv.Quote(contrailTime(o.modified))
}
