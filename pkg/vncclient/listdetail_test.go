package vncclient

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestListDetailRejectsItemsWithoutObject(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		wantErr string
		wantLen int
	}{
		{name: "two objects", body: `{"virtual-machines":[{"virtual-machine":{"uuid":"a"}},{"virtual-machine":{"uuid":"b"}}]}`, wantLen: 2},
		{name: "empty list", body: `{"virtual-machines":[]}`},
		{name: "null object", body: `{"virtual-machines":[{"virtual-machine":{"uuid":"a"}},{"virtual-machine":null}]}`, wantErr: `item 1 has no "virtual-machine" object`},
		{name: "missing object", body: `{"virtual-machines":[{"href":"x"}]}`, wantErr: `item 0 has no "virtual-machine" object`},
		{name: "wrong type", body: `{"virtual-machines":[{"virtual-machine":[1]}]}`, wantErr: "decode virtual-machine in list"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write([]byte(tt.body))
			}))
			t.Cleanup(ts.Close)
			c, _ := newTestClient(ts.URL, fastRetry(1))
			vms, err := ListDetail[VirtualMachine](context.Background(), c, TypeVirtualMachine, nil)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ListDetail: %v", err)
			}
			if len(vms) != tt.wantLen {
				t.Fatalf("got %d objects, want %d", len(vms), tt.wantLen)
			}
		})
	}
}
