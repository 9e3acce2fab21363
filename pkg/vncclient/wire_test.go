package vncclient

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/contrail-vif/contrail-vif/pkg/vncclient/wirefixture"
)

// wireExchange is a fixture with its placeholders expanded.
type wireExchange struct {
	b *wirefixture.Bindings
	// path is the expanded request path without the query.
	path  string
	query url.Values
	// body is the expanded request body, decoded one level.
	body map[string]json.RawMessage
	// text is the expanded plain-text response body.
	text string
}

// uuid returns the value bound to <uuid:name>.
func (x wireExchange) uuid(t *testing.T, name string) string {
	t.Helper()
	v, ok := x.b.Get("uuid:" + name)
	if !ok {
		t.Fatalf("<uuid:%s> is not bound", name)
	}
	return v
}

// object returns the type and uuid of an item path /<type>/<uuid>.
func (x wireExchange) object(t *testing.T) (string, string) {
	t.Helper()
	parts := strings.Split(strings.TrimPrefix(x.path, "/"), "/")
	if len(parts) != 2 {
		t.Fatalf("path %q is not /<type>/<uuid>", x.path)
	}
	return parts[0], parts[1]
}

// decodeBody decodes the request body member key into dst.
func (x wireExchange) decodeBody(t *testing.T, key string, dst any) {
	t.Helper()
	if err := json.Unmarshal(x.body[key], dst); err != nil {
		t.Fatalf("decode request body member %q: %v", key, err)
	}
}

// queryWithout returns the query without the named parameters, which the
// client method adds itself.
func (x wireExchange) queryWithout(names ...string) url.Values {
	q := url.Values{}
	for k, v := range x.query {
		if !slices.Contains(names, k) {
			q[k] = v
		}
	}
	return q
}

// wireCases calls the client method that sends each fixture's request and
// checks what it decoded from the fixture's response. Every fixture needs
// a case.
var wireCases = map[string]func(t *testing.T, c *Client, x wireExchange){
	"01-fqname-to-id-found": func(t *testing.T, c *Client, x wireExchange) {
		var typ string
		var fq []string
		x.decodeBody(t, "type", &typ)
		x.decodeBody(t, "fq_name", &fq)
		id, err := c.FQNameToID(context.Background(), typ, fq)
		if err != nil {
			t.Fatal(err)
		}
		if want := x.uuid(t, "vn"); id != want {
			t.Errorf("uuid = %q, want %q", id, want)
		}
	},
	"02-fqname-to-id-not-found": func(t *testing.T, c *Client, x wireExchange) {
		var typ string
		var fq []string
		x.decodeBody(t, "type", &typ)
		x.decodeBody(t, "fq_name", &fq)
		_, err := c.FQNameToID(context.Background(), typ, fq)
		checkAPIError(t, err, http.StatusNotFound, x.text)
	},
	"03-id-to-fqname": func(t *testing.T, c *Client, x wireExchange) {
		typ, fq, err := c.IDToFQName(context.Background(), x.uuid(t, "vn"))
		if err != nil {
			t.Fatal(err)
		}
		if typ != TypeVirtualNetwork || strings.Join(fq, ":") != "default-domain:k8s-default:k8s-default-pod-network" {
			t.Errorf("IDToFQName = %q, %q", typ, fq)
		}
	},
	"04-read-vn-network-ipam-refs": func(t *testing.T, c *Client, x wireExchange) {
		typ, id := x.object(t)
		var vn Network
		if err := c.Read(context.Background(), typ, id, &vn, x.query["fields"]...); err != nil {
			t.Fatal(err)
		}
		checkPodNetwork(t, x, vn)
	},
	"05-list-plain": func(t *testing.T, c *Client, x wireExchange) {
		entries, err := c.List(context.Background(), TypeVirtualNetwork, x.query)
		if err != nil {
			t.Fatal(err)
		}
		want := ListEntry{
			UUID:   x.uuid(t, "vn"),
			FQName: []string{"default-domain", "k8s-default", "k8s-default-pod-network"},
			Href:   c.BaseURL + "/virtual-network/" + x.uuid(t, "vn"),
		}
		if len(entries) != 1 || entries[0].UUID != want.UUID || !slices.Equal(entries[0].FQName, want.FQName) || entries[0].Href != want.Href {
			t.Errorf("List = %+v, want [%+v]", entries, want)
		}
	},
	"06-list-detail": func(t *testing.T, c *Client, x wireExchange) {
		vns, err := ListDetail[Network](context.Background(), c, TypeVirtualNetwork, x.queryWithout("detail"))
		if err != nil {
			t.Fatal(err)
		}
		if len(vns) != 1 {
			t.Fatalf("ListDetail returned %d networks, want 1", len(vns))
		}
		checkPodNetwork(t, x, vns[0])
	},
	"07-list-count": func(t *testing.T, c *Client, x wireExchange) {
		n, err := c.Count(context.Background(), TypeVirtualNetwork, x.queryWithout("count"))
		if err != nil {
			t.Fatal(err)
		}
		if n != 2 {
			t.Errorf("Count = %d, want 2", n)
		}
	},
	"08-create-vm": func(t *testing.T, c *Client, x wireExchange) {
		var vm VirtualMachine
		x.decodeBody(t, TypeVirtualMachine, &vm)
		if err := c.Create(context.Background(), TypeVirtualMachine, vm); err != nil {
			t.Fatal(err)
		}
	},
	"09-create-vmi": func(t *testing.T, c *Client, x wireExchange) {
		var vmi VirtualMachineInterface
		x.decodeBody(t, TypeVirtualMachineInterface, &vmi)
		if err := c.Create(context.Background(), TypeVirtualMachineInterface, vmi); err != nil {
			t.Fatal(err)
		}
	},
	"10-create-iip": func(t *testing.T, c *Client, x wireExchange) {
		var iip InstanceIP
		x.decodeBody(t, TypeInstanceIP, &iip)
		if err := c.Create(context.Background(), TypeInstanceIP, iip); err != nil {
			t.Fatal(err)
		}
	},
	"11-read-iip": func(t *testing.T, c *Client, x wireExchange) {
		typ, id := x.object(t)
		var iip InstanceIP
		if err := c.Read(context.Background(), typ, id, &iip); err != nil {
			t.Fatal(err)
		}
		if iip.UUID != x.uuid(t, "iip") || iip.InstanceIPAddress != "10.1.1.252" || iip.InstanceIPFamily != "v4" {
			t.Errorf("instance-ip = %+v, want uuid %s, address 10.1.1.252, family v4", iip, x.uuid(t, "iip"))
		}
		if iip.SubnetUUID != x.uuid(t, "subnet") {
			t.Errorf("subnet_uuid = %q, want %q", iip.SubnetUUID, x.uuid(t, "subnet"))
		}
		if s := iip.InstanceIPSubnet; s == nil || s.IPPrefix != "10.1.1.0" || s.IPPrefixLen != 24 {
			t.Errorf("instance_ip_subnet = %+v, want 10.1.1.0/24", s)
		}
		if refs := iip.VirtualNetworkRefs; len(refs) != 1 || refs[0].UUID != x.uuid(t, "vn") || refs[0].To[2] != "k8s-default-pod-network" {
			t.Errorf("virtual_network_refs = %+v", refs)
		}
		if refs := iip.VirtualMachineInterfaceRefs; len(refs) != 1 || refs[0].UUID != x.uuid(t, "vmi") ||
			refs[0].Href != c.BaseURL+"/virtual-machine-interface/"+x.uuid(t, "vmi") {
			t.Errorf("virtual_machine_interface_refs = %+v", refs)
		}
	},
	"12-ref-update-add": func(t *testing.T, c *Client, x wireExchange) {
		callRefUpdate(t, c, x, RefAdd)
	},
	"13-delete-vmi-referred": func(t *testing.T, c *Client, x wireExchange) {
		typ, id := x.object(t)
		checkAPIError(t, c.Delete(context.Background(), typ, id), http.StatusConflict, x.text)
	},
	"14-create-iip-exhausted": func(t *testing.T, c *Client, x wireExchange) {
		var iip InstanceIP
		x.decodeBody(t, TypeInstanceIP, &iip)
		checkAPIError(t, c.Create(context.Background(), TypeInstanceIP, iip), http.StatusBadRequest, x.text)
	},
	"15-ref-update-delete": func(t *testing.T, c *Client, x wireExchange) {
		callRefUpdate(t, c, x, RefDelete)
	},
	"16-delete-iip": func(t *testing.T, c *Client, x wireExchange) {
		typ, id := x.object(t)
		if err := c.Delete(context.Background(), typ, id); err != nil {
			t.Fatal(err)
		}
	},
	"17-read-unknown-id": func(t *testing.T, c *Client, x wireExchange) {
		typ, id := x.object(t)
		var vn Network
		checkAPIError(t, c.Read(context.Background(), typ, id, &vn), http.StatusNotFound, x.text)
	},
	"18-delete-unknown-id": func(t *testing.T, c *Client, x wireExchange) {
		typ, id := x.object(t)
		checkAPIError(t, c.Delete(context.Background(), typ, id), http.StatusNotFound, x.text)
	},
}

func callRefUpdate(t *testing.T, c *Client, x wireExchange, op RefOperation) {
	t.Helper()
	var typ, id, refType, refUUID string
	x.decodeBody(t, "type", &typ)
	x.decodeBody(t, "uuid", &id)
	x.decodeBody(t, "ref-type", &refType)
	x.decodeBody(t, "ref-uuid", &refUUID)
	if err := c.RefUpdate(context.Background(), typ, id, refType, refUUID, op); err != nil {
		t.Fatal(err)
	}
}

// checkPodNetwork checks the decoded k8s-default-pod-network of the
// fixtures and its subnet.
func checkPodNetwork(t *testing.T, x wireExchange, vn Network) {
	t.Helper()
	if vn.UUID != x.uuid(t, "vn") || strings.Join(vn.FQName, ":") != "default-domain:k8s-default:k8s-default-pod-network" {
		t.Errorf("network = %s %v", vn.UUID, vn.FQName)
	}
	if len(vn.NetworkIpamRefs) != 1 {
		t.Fatalf("network_ipam_refs = %+v, want one", vn.NetworkIpamRefs)
	}
	ref := vn.NetworkIpamRefs[0]
	if ref.UUID != x.uuid(t, "ipam") || !slices.Equal(ref.To, DefaultNetworkIpam) || ref.Attr == nil || len(ref.Attr.IpamSubnets) != 1 {
		t.Fatalf("network_ipam_refs[0] = %+v", ref)
	}
	sub := ref.Attr.IpamSubnets[0]
	if sub.Subnet == nil || sub.Subnet.IPPrefix != "10.1.1.0" || sub.Subnet.IPPrefixLen != 24 {
		t.Errorf("subnet = %+v, want 10.1.1.0/24", sub.Subnet)
	}
	if sub.DefaultGateway != "10.1.1.254" || sub.DNSServerAddress != "10.1.1.253" || sub.SubnetUUID != x.uuid(t, "subnet") {
		t.Errorf("ipam subnet = %+v, want gateway 10.1.1.254, DNS 10.1.1.253, subnet_uuid %s", sub, x.uuid(t, "subnet"))
	}
	if sub.EnableDHCP == nil || !*sub.EnableDHCP || sub.AddrFromStart == nil || *sub.AddrFromStart {
		t.Errorf("enable_dhcp = %v, addr_from_start = %v, want true and false", sub.EnableDHCP, sub.AddrFromStart)
	}
}

// checkAPIError checks that err is an APIError with status and the
// fixture's plain-text message.
func checkAPIError(t *testing.T, err error, status int, message string) {
	t.Helper()
	var apiErr *APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("error = %v, want an APIError", err)
	}
	if apiErr.StatusCode != status || apiErr.Message != message {
		t.Errorf("APIError = %d %q, want %d %q", apiErr.StatusCode, apiErr.Message, status, message)
	}
}

// recordedRequest is what the fixture server received.
type recordedRequest struct {
	method string
	target string
	body   []byte
}

// TestWireFixtures replays every fixture of testdata/wire against the
// client: the client must send the fixture's request and decode its
// response.
func TestWireFixtures(t *testing.T) {
	dir, err := wirefixture.Dir()
	if err != nil {
		t.Fatal(err)
	}
	fixtures, err := wirefixture.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fixtures {
		t.Run(f.Name, func(t *testing.T) {
			check, ok := wireCases[f.Name]
			if !ok {
				t.Fatalf("no client case for fixture %s", f.Name)
			}
			runWireFixture(t, f, check)
		})
	}
}

func runWireFixture(t *testing.T, f wirefixture.Fixture, check func(*testing.T, *Client, wireExchange)) {
	var mu sync.Mutex
	var got []recordedRequest
	var response []byte
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, recordedRequest{method: r.Method, target: r.URL.RequestURI(), body: body})
		mu.Unlock()
		if f.Response.ContentType != "" {
			w.Header().Set("Content-Type", f.Response.ContentType+"; charset=UTF-8")
		}
		w.WriteHeader(f.Response.Status)
		_, _ = w.Write(response)
	}))
	t.Cleanup(ts.Close)

	b := wirefixture.NewBindings(ts.URL)
	target, err := b.Expand(f.Request.Path)
	if err != nil {
		t.Fatal(err)
	}
	x := wireExchange{b: b}
	path, rawQuery, _ := strings.Cut(target, "?")
	x.path = path
	if x.query, err = url.ParseQuery(rawQuery); err != nil {
		t.Fatal(err)
	}
	if len(f.Request.Body) > 0 {
		body, err := b.ExpandJSON(f.Request.Body)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(body, &x.body); err != nil {
			t.Fatal(err)
		}
	}
	switch f.Response.ContentType {
	case "application/json":
		if response, err = b.ExpandJSON(f.Response.Body); err != nil {
			t.Fatal(err)
		}
	case "text/plain":
		text, err := f.Response.Text()
		if err != nil {
			t.Fatal(err)
		}
		if x.text, err = b.Expand(text); err != nil {
			t.Fatal(err)
		}
		response = []byte(x.text)
	}

	c := New(ts.URL, 5*time.Second)
	c.Retry = RetryPolicy{}
	check(t, c, x)

	mu.Lock()
	defer mu.Unlock()
	if len(got) != 1 {
		t.Fatalf("client sent %d requests, want 1", len(got))
	}
	req := got[0]
	if req.method != f.Request.Method {
		t.Errorf("method = %s, want %s", req.method, f.Request.Method)
	}
	if err := b.MatchPath(f.Request.Path, req.target); err != nil {
		t.Errorf("request target: %v", err)
	}
	if len(f.Request.Body) == 0 {
		if len(req.body) != 0 {
			t.Errorf("request body = %s, want none", req.body)
		}
		return
	}
	if err := b.MatchJSON(f.Request.Body, req.body); err != nil {
		t.Errorf("request body differs from the fixture:\n%v\nbody: %s", err, req.body)
	}
}
