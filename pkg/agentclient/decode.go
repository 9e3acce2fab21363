package agentclient

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
)

// maxQuotedBytes caps how much of an undecodable reply an error quotes.
const maxQuotedBytes = 120

// DecodeVMConfig decodes the body of a GET /vm-cfg/<vm-name> reply, a JSON
// array with one object per VMI. An error matches ErrInvalidReply and quotes
// the start of the body.
func DecodeVMConfig(body []byte) ([]VMConfigEntry, error) {
	var entries []VMConfigEntry
	if err := decodeReply(body, '[', "an array", &entries); err != nil {
		return nil, err
	}
	return entries, nil
}

// DecodePort decodes the body of a GET /port/<vmi-uuid> reply, one JSON
// object. An error matches ErrInvalidReply and quotes the start of the body.
// DecodePort checks types only: the values (MAC, addresses, prefix length)
// are the caller's to validate.
func DecodePort(body []byte) (*Port, error) {
	port := &Port{}
	if err := decodeReply(body, '{', "an object", port); err != nil {
		return nil, err
	}
	return port, nil
}

// decodeReply decodes body into out. The body must be a JSON value that
// starts with first, so that a reply of null or of another type fails
// rather than decoding into a zero value.
func decodeReply(body []byte, first byte, kind string, out any) error {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 || trimmed[0] != first {
		return fmt.Errorf("%w: expected %s, got %s", ErrInvalidReply, kind, quote(trimmed))
	}
	if err := json.Unmarshal(trimmed, out); err != nil {
		return fmt.Errorf("%w: %w in %s", ErrInvalidReply, err, quote(trimmed))
	}
	return nil
}

// quote returns body as a Go string literal, cut to maxQuotedBytes.
func quote(body []byte) string {
	if len(body) == 0 {
		return "an empty body"
	}
	if len(body) > maxQuotedBytes {
		return strconv.Quote(string(body[:maxQuotedBytes])) + "..."
	}
	return strconv.Quote(string(body))
}
