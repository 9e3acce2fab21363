package agentclient

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

const (
	testVMI = "5b2a7f1c-1111-2222-3333-444455556666"
	testVM  = "0f1e2d3c-aaaa-bbbb-cccc-ddddeeeeffff"
)

func newTestClient(t *testing.T, handler http.Handler) *Client {
	t.Helper()
	server := httptest.NewServer(handler)
	t.Cleanup(server.Close)
	return New(server.URL, 2*time.Second)
}

func TestVMConfigDecodesEntries(t *testing.T) {
	body := `[{"id":"` + testVMI + `","vm-uuid":"` + testVM + `","vn-id":"8c84ff8a-0000-0000-0000-000000000001",
		"vn-name":"default-domain:proj:blue","mac-address":"02:5b:2a:7f:1c:11","sub-interface":false,"vlan-id":65535,
		"annotations":["{interface:net1}","{index:0/1}"]}]`
	var gotPath string
	client := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotPath = r.URL.EscapedPath()
		if r.Method != http.MethodGet {
			t.Errorf("method = %s, want GET", r.Method)
		}
		_, _ = io.WriteString(w, body)
	}))

	entries, err := client.VMConfig(context.Background(), "k8s__default__busybox")
	if err != nil {
		t.Fatalf("VMConfig: %v", err)
	}
	if gotPath != "/vm-cfg/k8s__default__busybox" {
		t.Errorf("path = %q, want /vm-cfg/k8s__default__busybox", gotPath)
	}
	if len(entries) != 1 {
		t.Fatalf("got %d entries, want 1", len(entries))
	}
	e := entries[0]
	if e.ID != testVMI || e.VMUUID != testVM || e.VNName != "default-domain:proj:blue" {
		t.Errorf("entry = %+v", e)
	}
	if e.MACAddress != "02:5b:2a:7f:1c:11" || e.VLANID != 65535 || e.SubInterface {
		t.Errorf("entry = %+v", e)
	}
	if len(e.Annotations) != 2 || e.Annotations[0] != "{interface:net1}" {
		t.Errorf("annotations = %q", e.Annotations)
	}
}

func TestVMConfigNotFound(t *testing.T) {
	client := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, `{"error":"{ Not Found }"}`)
	}))

	_, err := client.VMConfig(context.Background(), "k8s__default__missing")
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("err = %v, want ErrNotFound", err)
	}
	var statusErr *StatusError
	if !errors.As(err, &statusErr) {
		t.Fatalf("err = %T, want *StatusError", err)
	}
	if statusErr.Message != "{ Not Found }" {
		t.Errorf("message = %q, want %q", statusErr.Message, "{ Not Found }")
	}
}

func TestPortDecodesAddresses(t *testing.T) {
	client := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/port/"+testVMI {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		_, _ = io.WriteString(w, `{"id":"`+testVMI+`","instance-id":"`+testVM+`","vn-id":"v","vm-project-id":"p",
			"mac-address":"02:5b:2a:7f:1c:11","system-name":"tap5b2a7f1c-11","rx-vlan-id":65535,"tx-vlan-id":65535,
			"vhostuser-mode":0,"ip-address":"10.1.1.3","plen":24,"dns-server":"10.1.1.253","gateway":"10.1.1.254",
			"v6-ip-address":"fd00::3","v6-dns-server":"fd00::fd","v6-gateway":"fd00::fe","author":"agent","time":"t"}`)
	}))

	port, err := client.Port(context.Background(), testVMI)
	if err != nil {
		t.Fatalf("Port: %v", err)
	}
	want := Port{
		ID: testVMI, InstanceID: testVM, VNID: "v", VMProjectID: "p", MACAddress: "02:5b:2a:7f:1c:11",
		SystemName: "tap5b2a7f1c-11", RxVLANID: 65535, TxVLANID: 65535,
		IPAddress: "10.1.1.3", PrefixLen: 24, DNSServer: "10.1.1.253", Gateway: "10.1.1.254",
		IPv6Address: "fd00::3", IPv6DNSServer: "fd00::fd", IPv6Gateway: "fd00::fe", Author: "agent", Time: "t",
	}
	if *port != want {
		t.Errorf("port = %+v\nwant %+v", *port, want)
	}
}

func TestPortRejectsUppercaseUUID(t *testing.T) {
	client := newTestClient(t, http.HandlerFunc(func(_ http.ResponseWriter, _ *http.Request) {
		t.Error("request sent for an invalid uuid")
	}))

	if _, err := client.Port(context.Background(), strings.ToUpper(testVMI)); err == nil {
		t.Fatal("Port accepted an uppercase uuid")
	}
}

func TestAddPortSendsRequest(t *testing.T) {
	var got map[string]any
	client := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/port" {
			t.Errorf("request = %s %s, want POST /port", r.Method, r.URL.Path)
		}
		if err := json.NewDecoder(r.Body).Decode(&got); err != nil {
			t.Errorf("decode body: %v", err)
		}
		_, _ = io.WriteString(w, `{}`)
	}))

	req := PortRequest{
		ID: testVMI, InstanceID: testVM, VNID: "v", VMProjectID: "p", DisplayName: "k8s__default__busybox",
		IPAddress: "10.1.1.3", Type: PortTypeNamespace, SystemName: "tap5b2a7f1c-11",
		MACAddress: "02:5b:2a:7f:1c:11", RxVLANID: NoVLAN, TxVLANID: NoVLAN, Author: "contrail-vif", Time: "now",
	}
	if err := client.AddPort(context.Background(), req); err != nil {
		t.Fatalf("AddPort: %v", err)
	}

	want := map[string]any{
		"id": testVMI, "instance-id": testVM, "vn-id": "v", "vm-project-id": "p",
		"display-name": "k8s__default__busybox", "ip-address": "10.1.1.3", "ip6-address": "",
		"type": float64(1), "system-name": "tap5b2a7f1c-11", "mac-address": "02:5b:2a:7f:1c:11",
		"rx-vlan-id": float64(-1), "tx-vlan-id": float64(-1), "author": "contrail-vif", "time": "now",
	}
	if len(got) != len(want) {
		t.Errorf("body has %d fields, want %d: %v", len(got), len(want), got)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("body[%q] = %v, want %v", k, got[k], v)
		}
	}
}

func TestAddPortServerError(t *testing.T) {
	client := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = io.WriteString(w, `{"error":"{ Invalid MAC, Use xx:xx:xx:xx:xx:xx format }"}`)
	}))

	err := client.AddPort(context.Background(), PortRequest{ID: testVMI})
	var statusErr *StatusError
	if !errors.As(err, &statusErr) {
		t.Fatalf("err = %v, want *StatusError", err)
	}
	if statusErr.Code != http.StatusInternalServerError {
		t.Errorf("code = %d, want 500", statusErr.Code)
	}
	if !strings.Contains(err.Error(), "Invalid MAC") {
		t.Errorf("error %q does not carry the agent's message", err)
	}
	if errors.Is(err, ErrNotFound) || errors.Is(err, ErrUnreachable) {
		t.Errorf("500 reply matches ErrNotFound or ErrUnreachable: %v", err)
	}
}

func TestDeletePort(t *testing.T) {
	var gotMethod, gotPath string
	client := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotMethod, gotPath = r.Method, r.URL.Path
		_, _ = io.WriteString(w, `{}`)
	}))

	if err := client.DeletePort(context.Background(), testVMI); err != nil {
		t.Fatalf("DeletePort: %v", err)
	}
	if gotMethod != http.MethodDelete || gotPath != "/port/"+testVMI {
		t.Errorf("request = %s %s, want DELETE /port/%s", gotMethod, gotPath, testVMI)
	}
}

// rawServer serves every connection on loopback with reply, written as is,
// so that a test controls the status line and the framing.
func rawServer(t *testing.T, reply string) string {
	t.Helper()
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	t.Cleanup(func() { _ = listener.Close() })
	go func() {
		for {
			conn, err := listener.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
				if _, err := http.ReadRequest(bufio.NewReader(conn)); err != nil {
					return
				}
				_, _ = io.WriteString(conn, reply)
			}()
		}
	}()
	return "http://" + listener.Addr().String()
}

func TestPortTruncatedReply(t *testing.T) {
	// Content-Length promises more bytes than the connection carries.
	reply := "HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=UTF-8\r\nContent-Length: 200\r\n\r\n" +
		`{"id":"` + testVMI + `","ip-addr`
	client := New(rawServer(t, reply), 2*time.Second)

	_, err := client.Port(context.Background(), testVMI)
	if err == nil {
		t.Fatal("Port accepted a truncated reply")
	}
	if errors.Is(err, ErrNotFound) {
		t.Errorf("truncated reply matches ErrNotFound: %v", err)
	}
}

func TestNotFoundWithOKReasonPhrase(t *testing.T) {
	body := `{"error":"{ Not Found }"}`
	reply := fmt.Sprintf("HTTP/1.1 404 OK\r\nContent-Type: application/json; charset=UTF-8\r\nContent-Length: %d\r\n\r\n%s",
		len(body), body)
	client := New(rawServer(t, reply), 2*time.Second)

	_, err := client.Port(context.Background(), testVMI)
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("err = %v, want ErrNotFound", err)
	}
}

func TestUnreachableAgent(t *testing.T) {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	addr := listener.Addr().String()
	_ = listener.Close()
	client := New("http://"+addr, time.Second)

	_, err = client.VMConfig(context.Background(), "k8s__default__busybox")
	if !errors.Is(err, ErrUnreachable) {
		t.Fatalf("VMConfig err = %v, want ErrUnreachable", err)
	}
	if err := client.Ping(context.Background()); !errors.Is(err, ErrUnreachable) {
		t.Fatalf("Ping err = %v, want ErrUnreachable", err)
	}
}

func TestPingAcceptsNotFound(t *testing.T) {
	client := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, `{"error":"{ Not Found }"}`)
	}))

	if err := client.Ping(context.Background()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
}

func TestRequestTimeout(t *testing.T) {
	release := make(chan struct{})
	client := newTestClient(t, http.HandlerFunc(func(_ http.ResponseWriter, _ *http.Request) {
		<-release
	}))
	t.Cleanup(func() { close(release) })
	client.HTTP.Timeout = 100 * time.Millisecond

	start := time.Now()
	_, err := client.Port(context.Background(), testVMI)
	if !errors.Is(err, ErrUnreachable) {
		t.Fatalf("err = %v, want ErrUnreachable", err)
	}
	if elapsed := time.Since(start); elapsed > 2*time.Second {
		t.Errorf("request took %v, want about 100ms", elapsed)
	}
}

func TestCanceledContextIsNotUnreachable(t *testing.T) {
	release := make(chan struct{})
	client := newTestClient(t, http.HandlerFunc(func(_ http.ResponseWriter, _ *http.Request) {
		<-release
	}))
	t.Cleanup(func() { close(release) })

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := client.VMConfig(ctx, "k8s__default__busybox")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want context.DeadlineExceeded", err)
	}
	if errors.Is(err, ErrUnreachable) {
		t.Errorf("err = %v matches ErrUnreachable", err)
	}
}
