package configapi

// deleteObject removes the object uuid of type typ. Like the API server it
// refuses while the object has children, other than default children named
// "default-<type>", which it deletes along, or while another object refers
// to it. base is the href prefix for the error messages.
func (s *store) deleteObject(typ, id, base string) error {
	o, ok := s.objects[id]
	if !ok {
		return notFound("ID %s does not exist", id)
	}
	if o.typ != typ {
		return notFound("No %s object found for id %s", typ, id)
	}

	var blocking []string
	var defaults []*object
	for _, child := range s.childrenOf(id, "") {
		if child.fqName[len(child.fqName)-1] == "default-"+child.typ {
			defaults = append(defaults, child)
			continue
		}
		blocking = append(blocking, href(base, child.typ, child.uuid))
	}
	if len(blocking) > 0 {
		return conflict("Delete when children still present: %s", pyList(blocking))
	}
	if err := s.checkNotReferred(o, base); err != nil {
		return err
	}
	for _, child := range defaults {
		if len(s.children[child.uuid]) > 0 {
			return conflict("Delete when children still present: %s", pyList([]string{href(base, child.typ, child.uuid)}))
		}
		if err := s.checkNotReferred(child, base); err != nil {
			return err
		}
	}

	for _, child := range defaults {
		s.removeObject(child)
	}
	s.removeObject(o)
	return nil
}

func (s *store) checkNotReferred(o *object, base string) error {
	var referrers []string
	for _, from := range s.referrers(o.uuid, "") {
		referrers = append(referrers, href(base, from.typ, from.uuid))
	}
	if len(referrers) > 0 {
		return conflict("Delete when resource still referred: %s", pyList(referrers))
	}
	return nil
}

func (s *store) removeObject(o *object) {
	if o.typ == typeInstanceIP {
		s.release(o.uuid)
	}
	s.remove(o)
}
