package configapi

import (
	"encoding/json"
	"net/http"
	"strings"
)

func (s *Server) handleHome(w http.ResponseWriter, r *http.Request) {
	base := baseURL(r)
	link := func(href, name, rel string) map[string]any {
		return map[string]any{"link": map[string]any{"href": href, "name": name, "rel": rel}}
	}
	var links []any
	for _, typ := range sortedTypes() {
		links = append(links,
			link(base+"/"+collectionName(typ), typ, "collection"),
			link(base+"/"+typ, typ, "resource-base"))
	}
	links = append(links,
		link(base+"/fqname-to-id", "name-to-id", "action"),
		link(base+"/id-to-fqname", "id-to-name", "action"),
		link(base+"/ref-update", "ref-update", "action"))
	writeJSON(w, http.StatusOK, map[string]any{"href": base, "links": links})
}

func (s *Server) handleFQNameToID(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Type   string   `json:"type"`
		FQName []string `json:"fq_name"`
	}
	if err := decodeBody(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	if !knownType(req.Type) {
		s.writeError(w, r, notFound("Resource type '%s' not found", req.Type))
		return
	}
	if len(req.FQName) == 0 {
		s.writeError(w, r, badRequest("Bad Request, no fq_name in POST body"), "type", req.Type)
		return
	}

	s.mu.Lock()
	o, ok := s.store.lookupFQName(req.Type, req.FQName)
	s.mu.Unlock()
	if !ok {
		s.writeError(w, r, notFound("Name %s not found", pyList(req.FQName)), "type", req.Type)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"uuid": o.uuid})
}

func (s *Server) handleIDToFQName(w http.ResponseWriter, r *http.Request) {
	var req struct {
		UUID string `json:"uuid"`
	}
	if err := decodeBody(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	if req.UUID == "" {
		s.writeError(w, r, badRequest("Bad Request, no uuid in POST body"))
		return
	}

	s.mu.Lock()
	o, ok := s.store.objects[req.UUID]
	var resp map[string]any
	if ok {
		resp = map[string]any{"type": o.typ, "fq_name": o.fqName}
	}
	s.mu.Unlock()
	if !ok {
		s.writeError(w, r, notFound("UUID %s not found", req.UUID), "uuid", req.UUID)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

func (s *Server) handleRefUpdate(w http.ResponseWriter, r *http.Request) {
	var req refUpdateRequest
	if err := decodeBody(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}

	s.mu.Lock()
	err := s.store.refUpdate(req)
	s.mu.Unlock()
	if err != nil {
		s.writeError(w, r, err, "type", req.Type, "uuid", req.UUID, "ref_type", req.RefType, "ref_uuid", req.RefUUID)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"uuid": req.UUID})
}

func (s *Server) handleList(w http.ResponseWriter, r *http.Request) {
	typ, ok := typeFromCollection(r.PathValue("collection"))
	if !ok {
		s.writeError(w, r, notFound("Not found: '%s'", r.URL.Path))
		return
	}

	s.mu.Lock()
	q, err := s.store.parseListQuery(r.URL.Query())
	var body map[string]any
	if err == nil {
		body = s.store.list(typ, q, baseURL(r))
	}
	s.mu.Unlock()
	if err != nil {
		s.writeError(w, r, err, "type", typ)
		return
	}
	writeJSON(w, http.StatusOK, body)
}

func (s *Server) handleCreate(w http.ResponseWriter, r *http.Request) {
	typ, ok := typeFromCollection(r.PathValue("collection"))
	if !ok {
		s.writeError(w, r, notFound("Not found: '%s'", r.URL.Path))
		return
	}
	body, err := decodeWrapped(w, r, typ)
	if err != nil {
		s.writeError(w, r, err, "type", typ)
		return
	}
	if body == nil {
		s.writeError(w, r, badRequest("Bad Request, no %s in POST body", typ), "type", typ)
		return
	}

	s.mu.Lock()
	o, err := s.store.create(typ, body)
	var resp map[string]any
	if err == nil {
		resp = createResponse(o, baseURL(r))
	}
	s.mu.Unlock()
	if err != nil {
		s.writeError(w, r, err, "type", typ, "fq_name", string(body["fq_name"]))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{typ: resp})
}

// createResponse returns what POST /<type>s sends back: identity and links
// only, never the fields the server filled in.
func createResponse(o *object, base string) map[string]any {
	resp := map[string]any{
		"name":    o.fqName[len(o.fqName)-1],
		"fq_name": o.fqName,
		"uuid":    o.uuid,
		"href":    href(base, o.typ, o.uuid),
	}
	if o.parentType != "" {
		resp["parent_type"] = o.parentType
		resp["parent_uuid"] = o.parentUUID
		resp["parent_href"] = href(base, o.parentType, o.parentUUID)
	}
	return resp
}

func (s *Server) handleRead(w http.ResponseWriter, r *http.Request) {
	typ, id := r.PathValue("type"), r.PathValue("uuid")
	if !knownType(typ) {
		s.writeError(w, r, notFound("Not found: '%s'", r.URL.Path))
		return
	}
	query := r.URL.Query()
	opt := renderOptions{
		base:            baseURL(r),
		excludeBackRefs: query.Has("exclude_back_refs"),
		excludeChildren: query.Has("exclude_children"),
		excludeHrefs:    query.Has("exclude_hrefs"),
	}
	if query.Has("fields") {
		opt.fields = map[string]bool{}
		for _, f := range strings.Split(query.Get("fields"), ",") {
			opt.fields[f] = true
		}
	}

	s.mu.Lock()
	o, ok := s.store.objects[id]
	var tag string
	var rendered map[string]any
	if ok && o.typ == typ {
		tag = etag(o)
		rendered = s.store.render(o, opt)
	}
	s.mu.Unlock()
	switch {
	case !ok:
		s.writeError(w, r, notFound("Unknown id: %s", id), "type", typ, "uuid", id)
		return
	case rendered == nil:
		s.writeError(w, r, notFound("No %s object found for id %s", typ, id), "type", typ, "uuid", id)
		return
	}

	w.Header().Set("ETag", tag)
	if match := r.Header.Get("If-None-Match"); match != "" && strings.Trim(match, `"`) == strings.Trim(tag, `"`) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{typ: rendered})
}

func (s *Server) handleUpdate(w http.ResponseWriter, r *http.Request) {
	typ, id := r.PathValue("type"), r.PathValue("uuid")
	if !knownType(typ) {
		s.writeError(w, r, notFound("Not found: '%s'", r.URL.Path))
		return
	}
	body, err := decodeWrapped(w, r, typ)
	if err != nil {
		s.writeError(w, r, err, "type", typ, "uuid", id)
		return
	}

	s.mu.Lock()
	if body == nil {
		// An empty update changes nothing but still needs a stored object.
		_, err = s.store.lookupForUpdate(typ, id)
	} else {
		_, err = s.store.update(typ, id, body)
	}
	s.mu.Unlock()
	if err != nil {
		s.writeError(w, r, err, "type", typ, "uuid", id)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{typ: map[string]string{"uuid": id, "href": href(baseURL(r), typ, id)}})
}

func (s *Server) handleDelete(w http.ResponseWriter, r *http.Request) {
	typ, id := r.PathValue("type"), r.PathValue("uuid")
	if !knownType(typ) {
		s.writeError(w, r, notFound("Not found: '%s'", r.URL.Path))
		return
	}

	s.mu.Lock()
	err := s.store.deleteObject(typ, id, baseURL(r))
	s.mu.Unlock()
	if err != nil {
		s.writeError(w, r, err, "type", typ, "uuid", id)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// decodeWrapped decodes a {"<type>": {...}} body and returns the inner
// object, or nil when the body has no such key or it is empty.
func decodeWrapped(w http.ResponseWriter, r *http.Request, typ string) (map[string]json.RawMessage, error) {
	var wrapper map[string]json.RawMessage
	if err := decodeBody(w, r, &wrapper); err != nil {
		return nil, err
	}
	raw, ok := wrapper[typ]
	if !ok || isNull(raw) {
		return nil, nil
	}
	var body map[string]json.RawMessage
	if err := json.Unmarshal(raw, &body); err != nil {
		return nil, badRequest("Bad Request, %s must be a JSON object: %v", typ, err)
	}
	if len(body) == 0 {
		return nil, nil
	}
	return body, nil
}
