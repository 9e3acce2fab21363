package vncclient

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"strings"
)

// FQNameToID returns the uuid of the object of type typ named fqName.
func (c *Client) FQNameToID(ctx context.Context, typ string, fqName []string) (string, error) {
	var reply struct {
		UUID string `json:"uuid"`
	}
	err := c.do(ctx, request{
		op: "fqname-to-id", method: http.MethodPost, path: "/fqname-to-id",
		body: map[string]any{"type": typ, "fq_name": fqName}, out: &reply,
	})
	if err != nil {
		return "", fmt.Errorf("look up %s %q: %w", typ, strings.Join(fqName, ":"), err)
	}
	return reply.UUID, nil
}

// IDToFQName returns the type and fq-name of the object with uuid id.
func (c *Client) IDToFQName(ctx context.Context, id string) (typ string, fqName []string, err error) {
	var reply struct {
		Type   string   `json:"type"`
		FQName []string `json:"fq_name"`
	}
	err = c.do(ctx, request{
		op: "id-to-fqname", method: http.MethodPost, path: "/id-to-fqname",
		body: map[string]any{"uuid": id}, out: &reply,
	})
	if err != nil {
		return "", nil, fmt.Errorf("look up uuid %s: %w", id, err)
	}
	return reply.Type, reply.FQName, nil
}

// Create posts obj, wrapped in its type name, to the collection of typ.
// The reply carries no server-filled fields, so callers read the object back
// when they need them.
//
// A create that set its uuid is safe to retry: when an earlier attempt
// reached the server, the retry gets 409 (IsConflict), and the caller treats
// the object as existing. Without a uuid in obj, a retry after a lost reply
// fails with 409 for the fq-name instead, which callers treat the same way.
func (c *Client) Create(ctx context.Context, typ string, obj any) error {
	err := c.do(ctx, request{
		op: "create", method: http.MethodPost, path: "/" + typ + "s",
		body: map[string]any{typ: obj},
	})
	if err != nil {
		return fmt.Errorf("create %s: %w", typ, err)
	}
	return nil
}

// Read fetches the object typ/uuid and decodes its unwrapped body into out.
// fields, when given, limits the properties and refs the server returns.
func (c *Client) Read(ctx context.Context, typ, uuid string, out any, fields ...string) error {
	var query url.Values
	if len(fields) > 0 {
		query = url.Values{"fields": {strings.Join(fields, ",")}}
	}
	wrapped := map[string]json.RawMessage{}
	err := c.do(ctx, request{
		op: "read", method: http.MethodGet, path: "/" + typ + "/" + uuid, query: query, out: &wrapped,
	})
	if err != nil {
		return fmt.Errorf("read %s %s: %w", typ, uuid, err)
	}
	raw, ok := wrapped[typ]
	if !ok {
		return fmt.Errorf("read %s %s: reply has no %q member", typ, uuid, typ)
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("decode %s %s: %w", typ, uuid, err)
	}
	return nil
}

// Delete removes the object typ/uuid.
func (c *Client) Delete(ctx context.Context, typ, uuid string) error {
	err := c.do(ctx, request{op: "delete", method: http.MethodDelete, path: "/" + typ + "/" + uuid})
	if err != nil {
		return fmt.Errorf("delete %s %s: %w", typ, uuid, err)
	}
	return nil
}

// RefOperation is the "operation" of a ref-update request.
type RefOperation string

// Ref-update operations.
const (
	RefAdd    RefOperation = "ADD"
	RefDelete RefOperation = "DELETE"
)

// RefUpdate adds or removes the ref from typ/uuid to refType/refUUID.
func (c *Client) RefUpdate(ctx context.Context, typ, uuid, refType, refUUID string, op RefOperation) error {
	body := map[string]any{
		"type":      typ,
		"uuid":      uuid,
		"ref-type":  refType,
		"ref-uuid":  refUUID,
		"operation": op,
		"attr":      nil,
	}
	if err := c.do(ctx, request{op: "ref-update", method: http.MethodPost, path: "/ref-update", body: body}); err != nil {
		return fmt.Errorf("ref-update %s %s %s->%s %s: %w", op, typ, uuid, refType, refUUID, err)
	}
	return nil
}

// ListEntry is one object of a plain (not detailed) list.
type ListEntry struct {
	UUID   string   `json:"uuid"`
	FQName []string `json:"fq_name"`
	Href   string   `json:"href,omitempty"`
}

// List lists the objects of typ that match query (for example fq_names,
// parent_id, back_ref_id or obj_uuids) and returns their uuids and
// fq-names.
func (c *Client) List(ctx context.Context, typ string, query url.Values) ([]ListEntry, error) {
	collection := typ + "s"
	var reply map[string][]ListEntry
	if err := c.do(ctx, request{op: "list", method: http.MethodGet, path: "/" + collection, query: query, out: &reply}); err != nil {
		return nil, fmt.Errorf("list %s: %w", collection, err)
	}
	return reply[collection], nil
}

// Count returns how many objects of typ match query.
func (c *Client) Count(ctx context.Context, typ string, query url.Values) (int, error) {
	q := maps.Clone(query)
	if q == nil {
		q = url.Values{}
	}
	q.Set("count", "true")
	collection := typ + "s"
	var reply map[string]struct {
		Count *int `json:"count"`
	}
	if err := c.do(ctx, request{op: "list", method: http.MethodGet, path: "/" + collection, query: q, out: &reply}); err != nil {
		return 0, fmt.Errorf("count %s: %w", collection, err)
	}
	n := reply[collection].Count
	if n == nil {
		return 0, fmt.Errorf("count %s: reply has no %s.count member", collection, collection)
	}
	return *n, nil
}

// ListDetail lists objects of typ with detail=true and the given extra query
// parameters (for example fields, parent_id, back_ref_id) and returns the
// unwrapped objects.
func ListDetail[T any](ctx context.Context, c *Client, typ string, query url.Values) ([]T, error) {
	q := maps.Clone(query)
	if q == nil {
		q = url.Values{}
	}
	q.Set("detail", "true")
	collection := typ + "s"
	var reply map[string][]map[string]json.RawMessage
	if err := c.do(ctx, request{op: "list", method: http.MethodGet, path: "/" + collection, query: q, out: &reply}); err != nil {
		return nil, fmt.Errorf("list %s: %w", collection, err)
	}
	items := reply[collection]
	out := make([]T, 0, len(items))
	for i, item := range items {
		raw := item[typ]
		// A missing or null object would decode into a zero value that
		// callers could mistake for an object without uuid or refs.
		if len(raw) == 0 || string(raw) == "null" {
			return nil, fmt.Errorf("list %s: item %d has no %q object", collection, i, typ)
		}
		var obj T
		if err := json.Unmarshal(raw, &obj); err != nil {
			return nil, fmt.Errorf("decode %s in list: %w", typ, err)
		}
		out = append(out, obj)
	}
	return out, nil
}
