package apicount

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestCounterSplitsReadsAndWrites(t *testing.T) {
	var bodies []string
	c := New()
	srv := httptest.NewServer(c.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		bodies = append(bodies, string(b))
	})))
	defer srv.Close()

	requests := []struct{ method, path, body string }{
		{http.MethodGet, "/virtual-machine/1", ""},
		{http.MethodGet, "/virtual-machines", ""},
		{http.MethodPost, "/fqname-to-id", `{"type":"virtual-network"}`},
		{http.MethodPost, "/virtual-machines", `{}`},
		{http.MethodPut, "/virtual-machine/1", `{}`},
		{http.MethodDelete, "/virtual-machine/1", ""},
		{http.MethodPost, "/ref-update", `{"type":"virtual-router","uuid":"r","ref-type":"virtual-machine","ref-uuid":"vm-1","operation":"ADD"}`},
		{http.MethodPost, "/ref-update", `{"type":"virtual-router","uuid":"r","ref-type":"virtual-machine","ref-uuid":"vm-1","operation":"DELETE"}`},
	}
	for _, r := range requests {
		req, err := http.NewRequest(r.method, srv.URL+r.path, strings.NewReader(r.body))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}

	s := c.Snapshot()
	if s.Reads != 3 {
		t.Errorf("reads = %d, want 3 (two GETs and fqname-to-id): %v", s.Reads, s.ByOp)
	}
	if s.Writes != 5 {
		t.Errorf("writes = %d, want 5 (create, update, delete, two ref-updates): %v", s.Writes, s.ByOp)
	}
	if s.RefAdds != 1 {
		t.Errorf("refAdds = %d, want 1: only a ref-update ADD links a VM", s.RefAdds)
	}
	if _, ok := c.RefAddTimes()["vm-1"]; !ok {
		t.Error("no link time for vm-1")
	}
	if s.ByOp["create virtual-machine"] != 1 || s.ByOp["list virtual-machines"] != 1 || s.ByOp["read virtual-machine"] != 1 {
		t.Errorf("operations = %v, want one create, list and read of virtual-machine", s.ByOp)
	}
	if !strings.Contains(bodies[6], `"operation":"ADD"`) {
		t.Errorf("ref-update body reached the handler as %q, want it unchanged", bodies[6])
	}
}

func TestSnapshotMinus(t *testing.T) {
	earlier := Snapshot{Reads: 2, Writes: 10, ByOp: map[string]int64{"a": 2, "b": 10}, HandlerMillis: map[string]float64{}, RefAdds: 3}
	later := Snapshot{Reads: 2, Writes: 14, ByOp: map[string]int64{"a": 2, "b": 14}, HandlerMillis: map[string]float64{}, RefAdds: 4}
	d := later.Minus(earlier)
	if d.Reads != 0 || d.Writes != 4 || d.RefAdds != 1 {
		t.Errorf("difference = %+v, want 0 reads, 4 writes, 1 link", d)
	}
	if _, ok := d.ByOp["a"]; ok || d.ByOp["b"] != 4 {
		t.Errorf("difference by operation = %v, want only b: 4", d.ByOp)
	}
}
