package vncclient

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// fuzzTransport replies to every request with one canned status and body,
// without any network I/O.
type fuzzTransport struct {
	code int
	body []byte
}

func (rt fuzzTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	return &http.Response{
		StatusCode: rt.code,
		Status:     strconv.Itoa(rt.code) + " " + http.StatusText(rt.code),
		Header:     http.Header{"Content-Type": {"application/json; charset=UTF-8"}},
		Body:       io.NopCloser(bytes.NewReader(rt.body)),
		Request:    req,
	}, nil
}

// FuzzConfigAPIReply feeds arbitrary status codes and bodies to each
// client call and checks that none panics and that the status decides the
// outcome: a reply outside 2xx is an *APIError with that status code, whose
// IsNotFound, IsConflict and IsBadRequest agree with it, and a 2xx reply
// never is.
func FuzzConfigAPIReply(f *testing.F) {
	for _, seed := range []struct {
		code int
		body string
	}{
		{200, `{"uuid":"8c84ff8a-0000-4000-8000-000000000001"}`},
		{200, `{"type":"virtual-network","fq_name":["default-domain","demo","blue"]}`},
		{200, `{"virtual-network":{"uuid":"u","fq_name":["d","p","blue"],"network_ipam_refs":[{"to":["a"],"attr":{"ipam_subnets":[{"subnet":{"ip_prefix":"10.0.0.0","ip_prefix_len":24}}]}}]}}`},
		{200, `{"virtual-networks":[{"uuid":"u","fq_name":["d","p","blue"],"href":"h"}]}`},
		{200, `{"virtual-networks":{"count":3}}`},
		{200, `{"virtual-machine-interfaces":[{"virtual-machine-interface":{"uuid":"u","fq_name":["d","p","i"]}},{},null]}`},
		{200, `{"virtual-network":null}`},
		{200, `[]`},
		{200, `{`},
		{200, ``},
		{404, `ID 8c84ff8a-0000-4000-8000-000000000001 does not exist`},
		{409, `Delete when resource still referred: [http://127.0.0.1:8082/instance-ip/x]`},
		{400, `Virtual-Network(['d', 'p', 'blue']) has exhausted subnet(all)`},
		{401, ``},
		{503, `<html>Service Unavailable</html>`},
	} {
		f.Add(seed.code, []byte(seed.body))
	}
	f.Fuzz(func(t *testing.T, code int, body []byte) {
		if code < 100 || code > 999 {
			code = 100 + (code%900+900)%900
		}
		// The zero RetryPolicy makes one attempt, so 5xx replies do not wait.
		c := &Client{BaseURL: "http://127.0.0.1:8082", HTTP: &http.Client{Transport: fuzzTransport{code: code, body: body}}}
		ctx := context.Background()
		calls := map[string]error{}
		_, calls["FQNameToID"] = c.FQNameToID(ctx, TypeVirtualNetwork, []string{"default-domain", "demo", "blue"})
		_, _, calls["IDToFQName"] = c.IDToFQName(ctx, "8c84ff8a-0000-4000-8000-000000000001")
		calls["Read"] = c.Read(ctx, TypeVirtualNetwork, "8c84ff8a-0000-4000-8000-000000000001", &Network{})
		_, calls["List"] = c.List(ctx, TypeVirtualNetwork, nil)
		_, calls["Count"] = c.Count(ctx, TypeVirtualNetwork, nil)
		_, calls["ListDetail"] = ListDetail[VirtualMachineInterface](ctx, c, TypeVirtualMachineInterface, nil)
		calls["Delete"] = c.Delete(ctx, TypeInstanceIP, "8c84ff8a-0000-4000-8000-000000000002")
		calls["Create"] = c.Create(ctx, TypeVirtualMachine, &VirtualMachine{FQName: []string{"k8s__default__web"}})

		// A redirect status without Location reaches the caller as it is.
		success := code >= 200 && code <= 299
		for name, err := range calls {
			var apiErr *APIError
			isAPI := errors.As(err, &apiErr)
			switch {
			case success && isAPI:
				t.Fatalf("%s with status %d returned an APIError: %v", name, code, err)
			case success:
				continue
			case !isAPI || apiErr.StatusCode != code:
				t.Fatalf("%s with status %d: %v, want an APIError with that status", name, code, err)
			case IsNotFound(err) != (code == http.StatusNotFound),
				IsConflict(err) != (code == http.StatusConflict),
				IsBadRequest(err) != (code == http.StatusBadRequest):
				t.Fatalf("%s with status %d: the status predicates disagree: %v", name, code, err)
			case len(apiErr.Message) > maxErrorBody || apiErr.Message != strings.TrimSpace(apiErr.Message):
				t.Fatalf("%s with status %d: message of %d bytes is not trimmed to %d", name, code, len(apiErr.Message), maxErrorBody)
			}
		}
	})
}
