package configapi

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestFaultsMakeAPIUnavailableAndSlow(t *testing.T) {
	s := NewServer(nil)
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)

	put := func(body string) int {
		req, err := http.NewRequest(http.MethodPut, srv.URL+FaultsPath, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	get := func() (int, time.Duration) {
		start := time.Now()
		resp, err := http.Get(srv.URL + "/projects")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode, time.Since(start)
	}

	if code := put(`{"unavailable":true}`); code != http.StatusOK {
		t.Fatalf("PUT faults = %d", code)
	}
	if code, _ := get(); code != http.StatusServiceUnavailable {
		t.Errorf("list while unavailable = %d, want 503", code)
	}

	if code := put(`{"latency":"150ms"}`); code != http.StatusOK {
		t.Fatalf("PUT faults = %d", code)
	}
	code, took := get()
	if code != http.StatusOK {
		t.Errorf("list with latency = %d, want 200", code)
	}
	if took < 150*time.Millisecond {
		t.Errorf("list with 150ms latency took %s", took)
	}

	if code := put(`{"errorRate":2}`); code != http.StatusBadRequest {
		t.Errorf("PUT errorRate 2 = %d, want 400", code)
	}
	if code := put(`{"latncy":"1s"}`); code != http.StatusBadRequest {
		t.Errorf("PUT with a misspelt field = %d, want 400", code)
	}
	if code := put(`{}`); code != http.StatusOK {
		t.Fatalf("PUT empty faults = %d", code)
	}
	if code, _ := get(); code != http.StatusOK {
		t.Errorf("list after clearing faults = %d, want 200", code)
	}
}
