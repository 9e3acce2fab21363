package agent

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// startServe runs Serve on a loopback port until the test ends.
func startServe(t *testing.T, s *Server) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, l) }()
	if !waitFor(5*time.Second, func() bool { return s.Addr() != "" }) {
		t.Fatal("Serve did not start within 5s")
	}
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Error("Serve did not return within 5s of cancel")
		}
	})
	return l.Addr().String()
}

// readResponse reads one response's header block and body from r.
func readResponse(t *testing.T, r *bufio.Reader) (string, string) {
	t.Helper()
	var head strings.Builder
	length := -1
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("read response header: %v (so far %q)", err, head.String())
		}
		head.WriteString(line)
		if line == "\r\n" {
			break
		}
		if v, ok := strings.CutPrefix(line, "Content-Length: "); ok {
			var n int
			for _, c := range strings.TrimSpace(v) {
				n = n*10 + int(c-'0')
			}
			length = n
		}
	}
	if length < 0 {
		t.Fatalf("response without Content-Length: %q", head.String())
	}
	body := make([]byte, length)
	if _, err := io.ReadFull(r, body); err != nil {
		t.Fatalf("read body: %v", err)
	}
	return head.String(), string(body)
}

func TestServeFraming(t *testing.T) {
	a := newTestAgent(t, testVMI())
	addr := startServe(t, a.server)

	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	reader := bufio.NewReader(conn)

	// Two requests on one connection: keep-alive works.
	io.WriteString(conn, "GET /nothing HTTP/1.1\r\nHost: x\r\n\r\n")
	head, body := readResponse(t, reader)
	wantHead := "HTTP/1.1 404 OK\r\nContent-Type: application/json; charset=UTF-8\r\nContent-Length: 27\r\n\r\n"
	if head != wantHead || body != `{"error":"Unknown Request"}` {
		t.Errorf("response = %q %q, want %q", head, body, wantHead)
	}

	post := vmRequest(t, vmiUUID, "tap1", nil)
	io.WriteString(conn, "POST /vm HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: "+itoa(len(post))+"\r\n\r\n"+post)
	head, body = readResponse(t, reader)
	if !strings.HasPrefix(head, "HTTP/1.1 200 OK\r\n") || body != "{}" {
		t.Errorf("POST response = %q %q", head, body)
	}

	io.WriteString(conn, "GET /port/"+vmiUUID+" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	head, body = readResponse(t, reader)
	if !strings.HasPrefix(head, "HTTP/1.1 200 OK\r\n") || !strings.Contains(body, `"system-name": "tap1"`) {
		t.Errorf("GET response = %q %q", head, body)
	}
	if _, err := reader.ReadByte(); !errors.Is(err, io.EOF) {
		t.Errorf("connection still open after Connection: close, read error %v", err)
	}
}

func TestServeWithHTTPClient(t *testing.T) {
	a := newTestAgent(t, testVMI())
	addr := startServe(t, a.server)
	client := &http.Client{Timeout: 5 * time.Second}

	for range 3 {
		resp, err := client.Post("http://"+addr+"/port", "application/json", strings.NewReader(`{"id":5}`))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.Status != "500 OK" || string(body) != `{"error":"{ Invalid or missing data for <id> }"}` {
			t.Errorf("response = %s %s", resp.Status, body)
		}
	}
}

func TestServeExpectContinue(t *testing.T) {
	a := newTestAgent(t, testVMI())
	addr := startServe(t, a.server)

	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	reader := bufio.NewReader(conn)

	post := vmRequest(t, vmiUUID, "tap1", nil)
	io.WriteString(conn, "POST /vm HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: "+itoa(len(post))+"\r\n\r\n")
	line, err := reader.ReadString('\n')
	if err != nil || line != "HTTP/1.1 100 Continue\r\n" {
		t.Fatalf("interim response = %q, %v", line, err)
	}
	if _, err := reader.ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	io.WriteString(conn, post)
	head, body := readResponse(t, reader)
	if !strings.HasPrefix(head, "HTTP/1.1 200 OK\r\n") || body != "{}" {
		t.Errorf("response = %q %q", head, body)
	}
}

func TestServeStopsOnCancel(t *testing.T) {
	a := newTestAgent(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.server.Serve(ctx, l) }()

	// An idle keep-alive connection must not keep Serve from returning.
	conn, err := net.DialTimeout("tcp", l.Addr().String(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve = %v, want nil after cancel", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return within 5s of cancel")
	}
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}
