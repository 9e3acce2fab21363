package configapi

import (
	"encoding/binary"
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
)

// create validates body as a new object of type typ and stores it. The
// checks and their order follow the Contrail API server's create handler:
// fq_name, duplicate fq-name, parent type, uuid, parent, refs, and then the
// type's own rules.
func (s *store) create(typ string, body map[string]json.RawMessage) (*object, error) {
	fq, err := parseFQName(body)
	if err != nil {
		return nil, err
	}
	if existing, ok := s.lookupFQName(typ, fq); ok {
		return nil, conflict("%s already exists with uuid: %s", pyList(fq), existing.uuid)
	}

	parentType, err := validateParentType(typ, body, fq)
	if err != nil {
		return nil, err
	}

	id, err := s.requestedUUID(body)
	if err != nil {
		return nil, err
	}

	var parentUUID string
	if parentType != "" {
		parent, ok := s.lookupFQName(parentType, fq[:len(fq)-1])
		if !ok {
			return nil, badRequest("Parent %s type %s does not exist", pyList(fq[:len(fq)-1]), parentType)
		}
		parentUUID = parent.uuid
	}

	refs, err := s.resolveRefs(body, true)
	if err != nil {
		return nil, err
	}

	now := s.timestamp(time.Time{})
	o := &object{
		typ:        typ,
		uuid:       id,
		fqName:     fq,
		parentType: parentType,
		parentUUID: parentUUID,
		props:      map[string]json.RawMessage{},
		refs:       map[string][]ref{},
		created:    now,
		modified:   now,
	}
	for refType, list := range refs {
		if len(list) > 0 {
			o.refs[refType] = list
		}
	}
	if err := copyProps(o, body); err != nil {
		return nil, err
	}
	if !o.prop("display_name", new(string)) {
		o.setProp("display_name", fq[len(fq)-1])
	}
	if err := setIDPerms(o, body["id_perms"]); err != nil {
		return nil, err
	}
	if _, ok := o.props["perms2"]; !ok {
		o.setProp("perms2", map[string]any{
			"owner": "cloud-admin", "owner_access": 7, "global_access": 0, "share": []any{},
		})
	}

	if err := s.prepareCreate(o); err != nil {
		return nil, err
	}
	s.insert(o)
	return o, nil
}

// prepareCreate applies the rules of the object's type and fills the
// fields that the server computes. It runs after every generic check, and
// an instance-ip reserves its address here, so nothing may fail after it.
func (s *store) prepareCreate(o *object) error {
	switch o.typ {
	case typeVirtualNetwork:
		if err := s.prepareVirtualNetwork(o, nil); err != nil {
			return err
		}
		o.setProp("virtual_network_network_id", s.nextNetworkID)
		s.nextNetworkID++
		return nil
	case typeNetworkIPAM:
		return s.prepareNetworkIPAM(o, nil)
	case typeVMI:
		return prepareVMI(o)
	case typeInstanceIP:
		return s.prepareInstanceIP(o)
	}
	return nil
}

func parseFQName(body map[string]json.RawMessage) ([]string, error) {
	raw, ok := body["fq_name"]
	if !ok || isNull(raw) {
		return nil, badRequest("Bad Request, no fq_name in POST body")
	}
	var fq []string
	if err := json.Unmarshal(raw, &fq); err != nil {
		return nil, badRequest("Bad Request, fq_name must be a list of strings, got %s", raw)
	}
	if len(fq) == 0 {
		return nil, badRequest("Bad Request, no fq_name in POST body")
	}
	if slices.Contains(fq, "") {
		return nil, badRequest("Bad Request, fq_name %s has an empty element", pyList(fq))
	}
	if strings.Contains(fq[len(fq)-1], ":") {
		return nil, badRequest("Bad Request, name has one of invalid chars {':'}")
	}
	return fq, nil
}

// validateParentType returns the parent type of a new object, empty for
// config-root, and checks that the fq-name length fits it.
func validateParentType(typ string, body map[string]json.RawMessage, fq []string) (string, error) {
	var requested string
	if raw, ok := body["parent_type"]; ok && !isNull(raw) {
		if err := json.Unmarshal(raw, &requested); err != nil {
			return "", badRequest("Bad Request, parent_type must be a string, got %s", raw)
		}
	}
	if requested == "config-root" {
		requested = ""
	}

	allowed := parentTypes[typ]
	allowedNames := allowed
	if len(allowed) == 0 {
		allowedNames = []string{"config-root"}
	}

	switch {
	case requested != "":
		if !slices.Contains(allowed, requested) {
			return "", badRequest("Invalid parent type: %s. Allowed types: %s", requested, pyList(allowedNames))
		}
	case len(allowed) > 1:
		return "", badRequest("Missing parent type: None. Allowed types: %s", pyList(allowedNames))
	case len(allowed) == 1:
		requested = allowed[0]
	}

	if requested == "" && len(fq) != 1 {
		return "", badRequest("Invalid fq-name of an object with no parent: %s", pyList(fq))
	}
	if requested != "" && len(fq) < 2 {
		return "", badRequest("Invalid fq-name for object with parent_type %s: %s", requested, pyList(fq))
	}
	return requested, nil
}

// requestedUUID returns the uuid from the body, or a new random one when the
// body has none.
func (s *store) requestedUUID(body map[string]json.RawMessage) (string, error) {
	var requested string
	if raw, ok := body["uuid"]; ok && !isNull(raw) {
		if err := json.Unmarshal(raw, &requested); err != nil {
			return "", badRequest("Invalid UUID format: %s", raw)
		}
	}
	if requested == "" {
		return uuid.NewString(), nil
	}

	// The API server accepts only the canonical lowercase form.
	parsed, err := uuid.Parse(requested)
	if err != nil || parsed.String() != requested {
		return "", badRequest("Invalid UUID format: %s", requested)
	}
	if existing, ok := s.objects[requested]; ok {
		return "", conflict("%s already exists with fq_name: %s", requested, pyList(existing.fqName))
	}
	return requested, nil
}

// refEntry is one element of a "<type>_refs" list in a request body.
type refEntry struct {
	To   []string        `json:"to"`
	UUID string          `json:"uuid"`
	Attr json.RawMessage `json:"attr"`
}

// resolveRefs parses every "<type>_refs" field of body. The result has a key
// for each field present, even an empty or null one, so that an update can
// tell "clear these refs" from "leave them alone". On create every entry
// needs "to", because the API server resolves create refs by fq-name; an
// update also accepts a uuid-only entry.
func (s *store) resolveRefs(body map[string]json.RawMessage, creating bool) (map[string][]ref, error) {
	out := map[string][]ref{}
	for _, field := range slices.Sorted(maps.Keys(body)) {
		refType, ok := refTypeFromField(field)
		if !ok {
			continue
		}
		var entries []refEntry
		if err := json.Unmarshal(body[field], &entries); err != nil {
			return nil, badRequest("Bad reference: %s must be a list of {\"to\", \"uuid\", \"attr\"} objects: %v", field, err)
		}

		var list []ref
		for _, e := range entries {
			target, err := s.resolveRef(field, refType, e, creating)
			if err != nil {
				return nil, err
			}
			attr := e.Attr
			if isNull(attr) {
				attr = nil
			}
			list = upsertRef(list, ref{uuid: target.uuid, attr: attr})
		}
		out[refType] = list
	}
	return out, nil
}

func (s *store) resolveRef(field, refType string, e refEntry, creating bool) (*object, error) {
	switch {
	case len(e.To) > 0:
		target, ok := s.lookupFQName(refType, e.To)
		if !ok {
			return nil, notFound("Name %s not found", pyList(e.To))
		}
		return target, nil
	case creating:
		// The API server looks every create ref up by its "to" fq-name, and
		// a missing one raises an unhandled exception.
		return nil, errorf(http.StatusInternalServerError,
			"Internal Server Error: %s entry %q has no \"to\" fq-name, which create requires", field, e.UUID)
	case e.UUID != "":
		target, ok := s.lookup(refType, e.UUID)
		if !ok {
			return nil, notFound("Object Not Found: %s", e.UUID)
		}
		return target, nil
	default:
		return nil, badRequest("Bad reference: %s entry has neither \"to\" nor \"uuid\"", field)
	}
}

// upsertRef adds r to list, or replaces the attribute of an existing ref to
// the same object.
func upsertRef(list []ref, r ref) []ref {
	for i := range list {
		if list[i].uuid == r.uuid {
			list[i].attr = r.attr
			return list
		}
	}
	return append(list, r)
}

// copyProps copies every writable property of body into o. A null value
// removes the property.
func copyProps(o *object, body map[string]json.RawMessage) error {
	for key, raw := range body {
		if readOnlyField(key) || key == "id_perms" {
			continue
		}
		if _, isRef := refTypeFromField(key); isRef {
			continue
		}
		if isNull(raw) {
			delete(o.props, key)
			continue
		}
		if !json.Valid(raw) {
			return badRequest("Bad property %s: invalid JSON", key)
		}
		o.props[key] = raw
	}
	return nil
}

// setIDPerms stores id_perms with the server-managed members (uuid,
// created, last_modified) filled in over whatever the client sent.
func setIDPerms(o *object, requested json.RawMessage) error {
	// Start from what the client sent, or else from what an earlier create
	// or update stored.
	if isNull(requested) {
		requested = o.props["id_perms"]
	}
	perms := map[string]any{}
	if !isNull(requested) {
		if err := decodeGeneric(requested, &perms); err != nil {
			return badRequest("Bad property id_perms: %v", err)
		}
	}

	id := uuid.MustParse(o.uuid)
	perms["uuid"] = map[string]any{
		"uuid_mslong": binary.BigEndian.Uint64(id[:8]),
		"uuid_lslong": binary.BigEndian.Uint64(id[8:]),
	}
	perms["created"] = contrailTime(o.created)
	perms["last_modified"] = contrailTime(o.modified)
	setDefault(perms, "enable", true)
	setDefault(perms, "user_visible", true)
	setDefault(perms, "description", nil)
	setDefault(perms, "creator", nil)
	setDefault(perms, "permissions", map[string]any{
		"owner": "cloud-admin", "owner_access": 7,
		"group": "cloud-admin-group", "group_access": 7,
		"other_access": 7,
	})
	o.setProp("id_perms", perms)
	return nil
}

func setDefault(m map[string]any, key string, value any) {
	if _, ok := m[key]; !ok {
		m[key] = value
	}
}
