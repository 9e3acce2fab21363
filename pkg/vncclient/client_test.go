package vncclient

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"
)

func TestObserverOperations(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "not found", http.StatusNotFound)
	}))
	t.Cleanup(ts.Close)
	c, rec := newTestClient(ts.URL, fastRetry(3))
	ctx := context.Background()
	id := "8c84ff8a-1111-4222-8333-444455556666"

	calls := []struct {
		op   string
		call func() error
	}{
		{"fqname-to-id", func() error { _, err := c.FQNameToID(ctx, TypeProject, []string{"d", "p"}); return err }},
		{"id-to-fqname", func() error { _, _, err := c.IDToFQName(ctx, id); return err }},
		{"create", func() error { return c.Create(ctx, TypeVirtualMachine, VirtualMachine{FQName: []string{"vm"}}) }},
		{"read", func() error { return c.Read(ctx, TypeVirtualMachine, id, &VirtualMachine{}) }},
		{"delete", func() error { return c.Delete(ctx, TypeVirtualMachine, id) }},
		{"ref-update", func() error {
			return c.RefUpdate(ctx, TypeVirtualRouter, id, TypeVirtualMachine, id, RefAdd)
		}},
		{"list", func() error { _, err := c.List(ctx, TypeVirtualMachine, nil); return err }},
		{"list", func() error { _, err := c.Count(ctx, TypeVirtualMachine, url.Values{"parent_id": {id}}); return err }},
		{"list", func() error { _, err := ListDetail[VirtualMachine](ctx, c, TypeVirtualMachine, nil); return err }},
	}
	for i, tt := range calls {
		if err := tt.call(); !IsNotFound(err) {
			t.Errorf("%s: error = %v, want 404", tt.op, err)
		}
		rec.mu.Lock()
		got := rec.obs[len(rec.obs)-1]
		n := len(rec.obs)
		rec.mu.Unlock()
		if n != i+1 || got != (observation{tt.op, http.StatusNotFound}) {
			t.Errorf("call %d: observed %d calls, last %+v; want %d, {%s 404}", i, n, got, i+1, tt.op)
		}
	}
}

func TestNewDefaults(t *testing.T) {
	c := New("http://127.0.0.1:8082/", 0)
	if c.BaseURL != "http://127.0.0.1:8082" {
		t.Errorf("BaseURL = %q, want the trailing slash removed", c.BaseURL)
	}
	if c.HTTP.Timeout != DefaultTimeout {
		t.Errorf("timeout = %v, want DefaultTimeout", c.HTTP.Timeout)
	}
	if c.Retry != DefaultRetryPolicy() {
		t.Errorf("Retry = %+v, want DefaultRetryPolicy", c.Retry)
	}
	if got := NewHTTPClient(0, nil).Timeout; got != DefaultTimeout {
		t.Errorf("NewHTTPClient(0, nil).Timeout = %v, want DefaultTimeout", got)
	}
	if got := NewHTTPClient(3*time.Second, nil).Timeout; got != 3*time.Second {
		t.Errorf("NewHTTPClient(3s, nil).Timeout = %v", got)
	}
}
