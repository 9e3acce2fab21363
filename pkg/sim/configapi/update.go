package configapi

import (
	"encoding/json"
	"strings"
)

// update applies a partial PUT body to the object uuid of type typ. Fields
// present in the body replace the stored ones. A "<type>_refs" field
// replaces the whole list of refs to that type, and a null property
// removes the property.
func (s *store) update(typ, id string, body map[string]json.RawMessage) (*object, error) {
	old, err := s.lookupForUpdate(typ, id)
	if err != nil {
		return nil, err
	}

	refs, err := s.resolveRefs(body, false)
	if err != nil {
		return nil, err
	}
	o := old.clone()
	for refType, list := range refs {
		if len(list) == 0 {
			delete(o.refs, refType)
		} else {
			o.refs[refType] = list
		}
	}
	if err := copyProps(o, body); err != nil {
		return nil, err
	}
	if err := s.commitUpdate(old, o, body["id_perms"]); err != nil {
		return nil, err
	}
	return o, nil
}

func (s *store) lookupForUpdate(typ, id string) (*object, error) {
	o, ok := s.objects[id]
	if !ok {
		return nil, notFound("Unknown id: %s", id)
	}
	if o.typ != typ {
		return nil, notFound("No %s object found for id %s", typ, id)
	}
	return o, nil
}

// commitUpdate runs the type's update rules on o, the changed copy of old,
// and stores it.
func (s *store) commitUpdate(old, o *object, idPerms json.RawMessage) error {
	o.modified = s.timestamp(old.modified)
	if err := setIDPerms(o, idPerms); err != nil {
		return err
	}

	switch o.typ {
	case typeVirtualNetwork:
		if err := s.prepareVirtualNetwork(o, old); err != nil {
			return err
		}
	case typeNetworkIPAM:
		if err := s.prepareNetworkIPAM(o, old); err != nil {
			return err
		}
	case typeVMI:
		if err := prepareVMIUpdate(old, o); err != nil {
			return err
		}
	case typeInstanceIP:
		if err := prepareInstanceIPUpdate(old, o); err != nil {
			return err
		}
	}
	s.replace(old, o)
	return nil
}

// prepareInstanceIPUpdate rejects a change of address and keeps the fields
// that the server filled at create.
func prepareInstanceIPUpdate(old, iip *object) error {
	var oldAddr, newAddr string
	old.prop("instance_ip_address", &oldAddr)
	if iip.prop("instance_ip_address", &newAddr) && newAddr != oldAddr {
		return badRequest("Instance IP Address can not be changed: %s to %s", oldAddr, newAddr)
	}
	for _, key := range []string{"instance_ip_address", "instance_ip_family", "instance_ip_subnet", "subnet_uuid"} {
		if raw, ok := old.props[key]; ok {
			iip.props[key] = raw
		}
	}
	return nil
}

// refUpdateRequest is the body of POST /ref-update.
type refUpdateRequest struct {
	Type      string          `json:"type"`
	UUID      string          `json:"uuid"`
	RefType   string          `json:"ref-type"`
	RefUUID   string          `json:"ref-uuid"`
	RefFQName []string        `json:"ref-fq-name"`
	Operation string          `json:"operation"`
	Attr      json.RawMessage `json:"attr"`
}

// refUpdate adds or removes one ref of an object. ADD of an existing ref
// replaces its attribute, and DELETE of a missing ref changes nothing.
func (s *store) refUpdate(req refUpdateRequest) error {
	if req.Type == "" || req.UUID == "" || req.RefType == "" || req.Operation == "" {
		return badRequest("Bad Request: type/uuid/ref-type/operation is null: %s, %s, %s, %s.",
			orNone(req.Type), orNone(req.UUID), orNone(req.RefType), orNone(req.Operation))
	}
	for _, typ := range []string{req.Type, req.RefType} {
		if !knownType(typ) {
			return notFound("Resource type '%s' not found", typ)
		}
	}
	operation := strings.ToUpper(req.Operation)
	if operation != "ADD" && operation != "DELETE" {
		return badRequest("Bad Request: operation should be add or delete: %s", operation)
	}
	if req.RefUUID == "" && len(req.RefFQName) == 0 {
		return badRequest("Bad Request: ref-uuid or ref-fq-name must be specified")
	}

	refUUID := req.RefUUID
	if refUUID == "" {
		target, ok := s.lookupFQName(req.RefType, req.RefFQName)
		if !ok {
			return notFound("Name %s not found", pyList(req.RefFQName))
		}
		refUUID = target.uuid
	}
	if _, ok := s.lookup(req.RefType, refUUID); !ok && operation == "ADD" {
		return notFound("Object Not Found: %s", refUUID)
	}
	old, ok := s.lookup(req.Type, req.UUID)
	if !ok {
		return notFound("Object Not Found: %s", req.UUID)
	}

	o := old.clone()
	list := o.refs[req.RefType]
	if operation == "ADD" {
		attr := req.Attr
		if isNull(attr) {
			attr = nil
		}
		list = upsertRef(list, ref{uuid: refUUID, attr: attr})
	} else {
		list = removeRef(list, refUUID)
	}
	if len(list) == 0 {
		delete(o.refs, req.RefType)
	} else {
		o.refs[req.RefType] = list
	}
	return s.commitUpdate(old, o, nil)
}

func removeRef(list []ref, uuid string) []ref {
	out := list[:0:0]
	for _, r := range list {
		if r.uuid != uuid {
			out = append(out, r)
		}
	}
	return out
}

// orNone formats an empty string as Python's None, as the API server's
// messages show missing fields.
func orNone(s string) string {
	if s == "" {
		return "None"
	}
	return s
}
