package agentclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"testing"

	"github.com/contrail-vif/contrail-vif/pkg/attachment"
)

var vmConfigSeeds = []string{
	`[{"id":"` + testVMI + `","vm-uuid":"` + testVM + `","vn-id":"8c84ff8a-0000-0000-0000-000000000001",
	  "vn-name":"default-domain:proj:blue","mac-address":"02:5b:2a:7f:1c:11","sub-interface":false,"vlan-id":65535,
	  "annotations":["{interface:net1}","{index:0/1}","{network:default/blue}","{ip:fd00::1}"]}]`,
	`[]`,
	`[{"id":5}]`,
	`[{"annotations":[1]}]`,
	`{"id":"x"}`,
	`null`,
	`[{"id":"`,
	`{"error":"{ Not Found }"}`,
}

var portSeeds = []string{
	`{"id":"` + testVMI + `","instance-id":"` + testVM + `","vn-id":"8c84ff8a-0000-0000-0000-000000000001",
	  "vm-project-id":"9970147c-33b1-4bf7-8944-8968e708d430","mac-address":"02:5b:2a:7f:1c:11","system-name":"tap5b2a7f1c-11",
	  "rx-vlan-id":65535,"tx-vlan-id":65535,"vhostuser-mode":0,"ip-address":"10.47.255.250","plen":12,
	  "dns-server":"10.47.255.253","gateway":"10.47.255.254","v6-ip-address":"fd00::3","author":"/usr/bin/contrail-vrouter-agent"}`,
	`{"plen":"24"}`,
	`{"plen":1e99}`,
	`[{"id":"x"}]`,
	`null`,
	`{`,
	"",
}

// FuzzDecodeVMConfig checks that DecodeVMConfig never panics, that its
// errors match ErrInvalidReply, and that what it accepts survives a round
// trip and has annotations that ParseAgentAnnotations can read.
func FuzzDecodeVMConfig(f *testing.F) {
	for _, s := range vmConfigSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		entries, err := DecodeVMConfig(body)
		if err != nil {
			if !errors.Is(err, ErrInvalidReply) {
				t.Fatalf("error does not match ErrInvalidReply: %v", err)
			}
			return
		}
		for _, e := range entries {
			_ = attachment.ParseAgentAnnotations(e.Annotations)
		}
		encoded, err := json.Marshal(entries)
		if err != nil {
			t.Fatalf("encode accepted entries: %v", err)
		}
		again, err := DecodeVMConfig(encoded)
		if err != nil {
			t.Fatalf("DecodeVMConfig rejects the encoding of entries it accepted: %v", err)
		}
		if !reflect.DeepEqual(normalizeEntries(entries), normalizeEntries(again)) {
			t.Fatalf("round trip changed the entries:\nfirst:  %+v\nsecond: %+v", entries, again)
		}
	})
}

// normalizeEntries makes an empty and a nil list compare equal, because
// the encoding drops empty annotations.
func normalizeEntries(entries []VMConfigEntry) []VMConfigEntry {
	out := make([]VMConfigEntry, len(entries))
	for i, e := range entries {
		if len(e.Annotations) == 0 {
			e.Annotations = nil
		}
		out[i] = e
	}
	return out
}

// FuzzDecodePort checks that DecodePort never panics, that its errors match
// ErrInvalidReply, and that what it accepts survives a round trip.
func FuzzDecodePort(f *testing.F) {
	for _, s := range portSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		port, err := DecodePort(body)
		if err != nil {
			if !errors.Is(err, ErrInvalidReply) {
				t.Fatalf("error does not match ErrInvalidReply: %v", err)
			}
			return
		}
		encoded, err := json.Marshal(port)
		if err != nil {
			t.Fatalf("encode accepted port: %v", err)
		}
		again, err := DecodePort(encoded)
		if err != nil {
			t.Fatalf("DecodePort rejects the encoding of a port it accepted: %v", err)
		}
		if *again != *port {
			t.Fatalf("round trip changed the port:\nfirst:  %+v\nsecond: %+v", port, again)
		}
	})
}

// replyTransport replies to every request with one canned status and body,
// without any network I/O.
type replyTransport struct {
	code int
	body []byte
}

func (rt replyTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	return &http.Response{
		StatusCode: rt.code,
		Status:     strconv.Itoa(rt.code) + " OK",
		Header:     http.Header{"Content-Type": {"application/json; charset=UTF-8"}},
		Body:       io.NopCloser(bytes.NewReader(rt.body)),
		Request:    req,
	}, nil
}

// FuzzClientReply feeds arbitrary status codes and bodies to each client
// method and checks how it classifies the outcome. A 200 reply either
// decodes or matches ErrInvalidReply. A 404 matches ErrNotFound, and any
// other status is a *StatusError with that code. Nothing matches
// ErrUnreachable, because every request got a reply.
func FuzzClientReply(f *testing.F) {
	for _, s := range vmConfigSeeds {
		f.Add(200, []byte(s))
	}
	for _, s := range portSeeds {
		f.Add(200, []byte(s))
	}
	f.Add(404, []byte(`{"error":"{ Not Found }"}`))
	f.Add(500, []byte(`{"error":"{ Invalid or missing data for x }"}`))
	f.Add(500, []byte(`not json`))
	f.Add(503, []byte{})
	f.Fuzz(func(t *testing.T, code int, body []byte) {
		if code < 100 || code > 999 {
			code = 100 + (code%900+900)%900
		}
		client := &Client{BaseURL: "http://127.0.0.1:9091", HTTP: &http.Client{Transport: replyTransport{code: code, body: body}}}
		ctx := context.Background()
		calls := map[string]error{}
		_, calls["VMConfig"] = client.VMConfig(ctx, "k8s__default__web")
		_, calls["Port"] = client.Port(ctx, testVMI)
		calls["AddPort"] = client.AddPort(ctx, PortRequest{ID: testVMI})
		calls["DeletePort"] = client.DeletePort(ctx, testVMI)
		if err := client.Ping(ctx); err != nil {
			t.Fatalf("Ping with status %d: %v", code, err)
		}
		for name, err := range calls {
			checkReplyError(t, name, code, err)
		}
	})
}

func checkReplyError(t *testing.T, call string, code int, err error) {
	t.Helper()
	if errors.Is(err, ErrUnreachable) {
		t.Fatalf("%s with status %d: %v matches ErrUnreachable", call, code, err)
	}
	var statusErr *StatusError
	isStatus := errors.As(err, &statusErr)
	switch {
	case code == http.StatusOK:
		if err != nil && !errors.Is(err, ErrInvalidReply) {
			t.Fatalf("%s with status 200: %v does not match ErrInvalidReply", call, err)
		}
		if isStatus {
			t.Fatalf("%s with status 200 returned a StatusError: %v", call, err)
		}
	case !isStatus || statusErr.Code != code:
		t.Fatalf("%s with status %d: %v, want a StatusError with that code", call, code, err)
	case errors.Is(err, ErrNotFound) != (code == http.StatusNotFound):
		t.Fatalf("%s with status %d: ErrNotFound match is %v", call, code, errors.Is(err, ErrNotFound))
	case statusErr.Message == "":
		t.Fatalf("%s with status %d: StatusError without a message", call, code)
	}
}
