package agent

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/google/uuid"
)

// contentType is the only content type the agent sends.
const contentType = "application/json; charset=UTF-8"

// nilUUID is the uuid the agent takes from a uuid field that does not parse.
const nilUUID = "00000000-0000-0000-0000-000000000000"

func okReply() reply { return reply{status: http.StatusOK, body: "{}"} }

// errorReply returns {"error":msg} with the given status. Handlers pass
// messages already wrapped in "{ ... }" as the real agent does.
func errorReply(status int, msg string) reply {
	return reply{status: status, body: compactJSON(map[string]string{"error": msg})}
}

// compactJSON encodes v on one line without HTML escaping, like the
// agent's rapidjson Writer.
func compactJSON(v any) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		// Only maps of strings and the response structs are encoded here.
		panic("encode agent response: " + err.Error())
	}
	return strings.TrimSuffix(buf.String(), "\n")
}

// prettyJSON encodes v indented by four spaces, like the agent's rapidjson
// PrettyWriter, which it uses for every object it returns.
func prettyJSON(v any) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "    ")
	if err := enc.Encode(v); err != nil {
		panic("encode agent response: " + err.Error())
	}
	return strings.TrimSuffix(buf.String(), "\n")
}

// prettyArray joins pretty objects into a JSON array the way the agent
// does: "[" + objects separated by "," + "]".
func prettyArray[T any](items []T) string {
	parts := make([]string, len(items))
	for i, item := range items {
		parts[i] = prettyJSON(item)
	}
	return "[" + strings.Join(parts, ",") + "]"
}

// jsonObject is a request body object decoded with json.Number values, and
// its accessors check member types the way the agent's rapidjson code does.
type jsonObject map[string]any

// decodeJSON decodes body strictly: one JSON value and nothing else.
func decodeJSON(body []byte) (any, bool) {
	if !json.Valid(body) {
		return nil, false
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, false
	}
	return v, true
}

// asObject converts a decoded value to a jsonObject.
func asObject(v any) (jsonObject, bool) {
	m, ok := v.(map[string]any)
	return jsonObject(m), ok
}

// stringMember returns the string member name. When it is missing or not a
// string it appends "Invalid or missing field for <name>" to errMsg, if
// errMsg is not nil.
func (o jsonObject) stringMember(name string, errMsg *string) (string, bool) {
	s, ok := o[name].(string)
	if !ok {
		if errMsg != nil {
			*errMsg += "Invalid or missing field for <" + name + ">"
		}
		return "", false
	}
	return s, true
}

// intMember returns the member name when it is a JSON integer in the int32
// range (rapidjson's IsInt). Otherwise it appends "Invalid or missing field
// for <name>" to errMsg, if errMsg is not nil.
func (o jsonObject) intMember(name string, errMsg *string) (int32, bool) {
	n, ok := o[name].(json.Number)
	if ok {
		v, err := strconv.ParseInt(string(n), 10, 32)
		if err == nil {
			return int32(v), true
		}
	}
	if errMsg != nil {
		*errMsg += "Invalid or missing field for <" + name + ">"
	}
	return 0, false
}

// uuidMember returns the member name as a lowercase uuid. A string that
// does not parse gives the nil uuid, as in the agent. When the member is
// missing or not a string it appends "Invalid or missing data for <name>"
// to errMsg.
func (o jsonObject) uuidMember(name string, errMsg *string) (string, bool) {
	s, ok := o[name].(string)
	if !ok {
		*errMsg += "Invalid or missing data for <" + name + ">"
		return "", false
	}
	return parseUUID(s), true
}

// parseUUID returns s as a lowercase uuid in the 36-character form, or the
// nil uuid when s is not one.
func parseUUID(s string) string {
	if len(s) != 36 {
		return nilUUID
	}
	id, err := uuid.Parse(s)
	if err != nil {
		return nilUUID
	}
	return id.String()
}
