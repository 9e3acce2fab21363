package agentclient

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestDecodeRejectsOtherShapes(t *testing.T) {
	cases := []struct {
		name, body, want string
		decode           func([]byte) error
	}{
		{"vm-cfg object", `{"id":"x"}`, `expected an array, got "{\"id\":\"x\"}"`, decodeVMConfigErr},
		{"vm-cfg null", `null`, `expected an array, got "null"`, decodeVMConfigErr},
		{"vm-cfg empty body", ``, `expected an array, got an empty body`, decodeVMConfigErr},
		{"vm-cfg wrong type", `[{"vlan-id":"none"}]`, `VMConfigEntry.vlan-id`, decodeVMConfigErr},
		{"port array", `[{"id":"x"}]`, `expected an object`, decodePortErr},
		{"port truncated", `{"id":"x","plen":`, `unexpected end of JSON input in "{\"id\":\"x\",\"plen\":"`, decodePortErr},
		{"port long body", `{"plen":"` + strings.Repeat("x", 500) + `"}`, `xxx"...`, decodePortErr},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.decode([]byte(c.body))
			if !errors.Is(err, ErrInvalidReply) {
				t.Fatalf("err = %v, want ErrInvalidReply", err)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("err = %q, want it to contain %q", err, c.want)
			}
			if len(err.Error()) > 400 {
				t.Errorf("message of %d bytes quotes too much of the body", len(err.Error()))
			}
		})
	}
}

func decodeVMConfigErr(b []byte) error { _, err := DecodeVMConfig(b); return err }

func decodePortErr(b []byte) error { _, err := DecodePort(b); return err }

func TestReplyOverLimitIsInvalid(t *testing.T) {
	client := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "["+strings.Repeat(" ", maxReplyBytes)+"]")
	}))

	_, err := client.VMConfig(context.Background(), "k8s__default__web")

	if !errors.Is(err, ErrInvalidReply) || !strings.Contains(err.Error(), "larger than 1048576 bytes") {
		t.Fatalf("err = %v, want ErrInvalidReply naming the limit", err)
	}
}

func TestReplyAtLimitDecodes(t *testing.T) {
	body := "[" + strings.Repeat(" ", maxReplyBytes-2) + "]"
	client := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, body)
	}))

	entries, err := client.VMConfig(context.Background(), "k8s__default__web")

	if err != nil || len(entries) != 0 {
		t.Fatalf("VMConfig = %v, %v, want no entries and no error", entries, err)
	}
}

func TestErrorStatusIsNotInvalidReply(t *testing.T) {
	client := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = io.WriteString(w, `not json`)
	}))

	_, err := client.Port(context.Background(), testVMI)

	var statusErr *StatusError
	if !errors.As(err, &statusErr) || statusErr.Message != "not json" {
		t.Fatalf("err = %v, want a StatusError with the raw body", err)
	}
	if errors.Is(err, ErrInvalidReply) {
		t.Errorf("an error status matches ErrInvalidReply: %v", err)
	}
}
