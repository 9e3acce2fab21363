package configapi

import (
	"slices"
	"strings"
)

// Resource types the simulator serves, by their hyphenated Contrail names.
const (
	typeDomain             = "domain"
	typeGlobalSystemConfig = "global-system-config"
	typeProject            = "project"
	typeNetworkIPAM        = "network-ipam"
	typeVirtualNetwork     = "virtual-network"
	typeSecurityGroup      = "security-group"
	typeVirtualMachine     = "virtual-machine"
	typeVMI                = "virtual-machine-interface"
	typeInstanceIP         = "instance-ip"
	typeVirtualRouter      = "virtual-router"
)

// parentTypes lists, for each served resource type, the parent types that the
// Contrail schema allows. An empty list means the object hangs off
// config-root, so its fq-name has exactly one element.
var parentTypes = map[string][]string{
	typeDomain:             nil,
	typeGlobalSystemConfig: nil,
	typeProject:            {typeDomain},
	typeNetworkIPAM:        {typeProject},
	typeVirtualNetwork:     {typeProject},
	typeSecurityGroup:      {typeProject},
	typeVirtualMachine:     nil,
	typeVMI:                {typeVirtualMachine, typeProject, typeVirtualRouter},
	typeInstanceIP:         nil,
	typeVirtualRouter:      {typeGlobalSystemConfig},
}

// Well-known fq-names that a Contrail API server creates at start-up.
var (
	defaultGlobalSystemConfig = []string{"default-global-system-config"}
	defaultDomain             = []string{"default-domain"}
	defaultProject            = []string{"default-domain", "default-project"}
	defaultNetworkIPAM        = []string{"default-domain", "default-project", "default-network-ipam"}
)

// knownType reports whether the simulator serves resource type typ.
func knownType(typ string) bool {
	_, ok := parentTypes[typ]
	return ok
}

// sortedTypes returns the served resource types in name order, so that
// renders and error messages do not depend on map order.
func sortedTypes() []string {
	types := make([]string, 0, len(parentTypes))
	for typ := range parentTypes {
		types = append(types, typ)
	}
	slices.Sort(types)
	return types
}

// typeFromCollection maps a collection path element such as
// "virtual-networks" to its resource type.
func typeFromCollection(collection string) (string, bool) {
	typ, ok := strings.CutSuffix(collection, "s")
	if !ok || !knownType(typ) {
		return "", false
	}
	return typ, true
}

// fieldName converts a hyphenated type name into the underscored form used
// inside bodies, e.g. "virtual-network" to "virtual_network".
func fieldName(typ string) string {
	return strings.ReplaceAll(typ, "-", "_")
}

func refField(typ string) string     { return fieldName(typ) + "_refs" }
func backRefField(typ string) string { return fieldName(typ) + "_back_refs" }
func childField(typ string) string   { return fieldName(typ) + "s" }
func collectionName(typ string) string {
	return typ + "s"
}

// refTypeFromField returns the hyphenated referred type of a "<type>_refs"
// body field. The type need not be one the simulator serves.
func refTypeFromField(field string) (string, bool) {
	base, ok := strings.CutSuffix(field, "_refs")
	if !ok || base == "" {
		return "", false
	}
	return strings.ReplaceAll(base, "_", "-"), true
}

// readOnlyField reports whether a body field is one that the server computes
// on read (back-refs, children, hrefs) and ignores on write.
func readOnlyField(field string) bool {
	if strings.HasSuffix(field, "_back_refs") {
		return true
	}
	switch field {
	case "href", "parent_href", "name", "uuid", "fq_name", "parent_type", "parent_uuid":
		return true
	}
	for typ := range parentTypes {
		if field == childField(typ) {
			return true
		}
	}
	return false
}
