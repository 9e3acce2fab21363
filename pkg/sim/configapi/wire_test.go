package configapi

import (
	"bytes"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"testing"

	"github.com/contrail-vif/contrail-vif/pkg/vncclient/wirefixture"
)

// TestWireFixtures sends every request of testdata/wire, in file order, to
// one simulator, and checks each response against the fixture.
func TestWireFixtures(t *testing.T) {
	dir, err := wirefixture.Dir()
	if err != nil {
		t.Fatal(err)
	}
	setup, err := wirefixture.LoadSetup(dir)
	if err != nil {
		t.Fatal(err)
	}
	fixtures, err := wirefixture.Load(dir)
	if err != nil {
		t.Fatal(err)
	}

	api := newTestAPI(t)
	b := wirefixture.NewBindings(api.http.URL)
	for _, obj := range setup {
		var body map[string]any
		if err := json.Unmarshal(obj.Body, &body); err != nil {
			t.Fatalf("setup %s: %v", obj.Bind, err)
		}
		b.Set("uuid:"+obj.Bind, api.create(obj.Type, body))
	}

	for _, f := range fixtures {
		ok := t.Run(f.Name, func(t *testing.T) {
			status, contentType, body := sendFixture(t, api, b, f.Request)
			if status != f.Response.Status {
				t.Fatalf("status = %d, want %d; body %s", status, f.Response.Status, body)
			}
			checkFixtureBody(t, b, f.Response, contentType, body)
		})
		if !ok {
			// Later fixtures build on the objects of earlier ones.
			t.Fatalf("fixture %s failed; skipping the fixtures after it", f.Name)
		}
	}
}

// sendFixture expands the placeholders of req and sends it to api.
func sendFixture(t *testing.T, api *testAPI, b *wirefixture.Bindings, req wirefixture.Request) (int, string, []byte) {
	t.Helper()
	path, err := b.Expand(req.Path)
	if err != nil {
		t.Fatal(err)
	}
	body, err := b.ExpandJSON(req.Body)
	if err != nil {
		t.Fatal(err)
	}

	var reader io.Reader
	if body != nil {
		reader = bytes.NewReader(body)
	}
	httpReq, err := http.NewRequest(req.Method, api.http.URL+path, reader)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		httpReq.Header.Set("Content-Type", `application/json; charset="UTF-8"`)
	}

	resp, err := api.client.Do(httpReq)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), data
}

func checkFixtureBody(t *testing.T, b *wirefixture.Bindings, want wirefixture.Response, contentType string, body []byte) {
	t.Helper()
	if want.ContentType == "" {
		if len(body) != 0 {
			t.Errorf("body = %q, want empty", body)
		}
		return
	}
	mediaType, _, err := mime.ParseMediaType(contentType)
	if err != nil || mediaType != want.ContentType {
		t.Errorf("Content-Type = %q, want %s", contentType, want.ContentType)
	}
	switch want.ContentType {
	case "application/json":
		if err := b.MatchJSON(want.Body, body); err != nil {
			t.Errorf("body differs from the fixture:\n%v\nbody: %s", err, body)
		}
	case "text/plain":
		text, err := want.Text()
		if err != nil {
			t.Fatal(err)
		}
		if err := b.MatchText(text, string(body)); err != nil {
			t.Error(err)
		}
	default:
		t.Fatalf("fixture content_type %q: want application/json or text/plain", want.ContentType)
	}
}
