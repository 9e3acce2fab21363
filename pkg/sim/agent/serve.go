package agent

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Timeouts of Serve's connections.
const (
	// idleTimeout closes a keep-alive connection that sends no request.
	idleTimeout = 2 * time.Minute
	// requestTimeout bounds reading one request and writing its response.
	requestTimeout = 30 * time.Second
)

// Serve handles the agent's routes on the connections that l accepts until
// ctx is done, then closes l and every connection and returns nil once all
// connection goroutines have ended. It returns an error when accepting
// fails for another reason.
//
// Serve writes responses exactly as the real agent does:
// "HTTP/1.1 <code> OK" for every status, then only Content-Type and
// Content-Length. net/http cannot send that status line, because it always
// writes the standard reason phrase, so Serve reads each request with
// http.ReadRequest and writes the response itself. Connections are kept
// alive until the client closes them or sends "Connection: close".
func (s *Server) Serve(ctx context.Context, l net.Listener) error {
	var (
		mu    sync.Mutex
		conns = map[net.Conn]struct{}{}
		wg    sync.WaitGroup
	)
	stop := context.AfterFunc(ctx, func() {
		_ = l.Close()
		mu.Lock()
		defer mu.Unlock()
		for c := range conns {
			_ = c.Close()
		}
	})
	defer stop()

	var acceptErr error
	for {
		c, err := l.Accept()
		if err != nil {
			if ctx.Err() == nil {
				acceptErr = fmt.Errorf("accept on %s: %w", l.Addr(), err)
			}
			break
		}

		mu.Lock()
		if ctx.Err() != nil {
			mu.Unlock()
			_ = c.Close()
			break
		}
		conns[c] = struct{}{}
		mu.Unlock()

		wg.Go(func() {
			s.serveConn(ctx, c)
			mu.Lock()
			delete(conns, c)
			mu.Unlock()
		})
	}

	_ = l.Close()
	mu.Lock()
	for c := range conns {
		_ = c.Close()
	}
	mu.Unlock()
	wg.Wait()
	return acceptErr
}

// serveConn handles the requests of one connection in order.
func (s *Server) serveConn(ctx context.Context, c net.Conn) {
	defer c.Close()
	defer func() {
		if v := recover(); v != nil {
			s.logger().Error("request handler panicked, closing connection", "remote", c.RemoteAddr().String(), "panic", v)
		}
	}()

	reader := bufio.NewReader(c)
	writer := bufio.NewWriter(c)
	for {
		_ = c.SetReadDeadline(time.Now().Add(idleTimeout))
		req, err := http.ReadRequest(reader)
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				s.logger().Debug("closing connection after unreadable request", "remote", c.RemoteAddr().String(), "error", err)
			}
			return
		}
		_ = c.SetDeadline(time.Now().Add(requestTimeout))
		req.RemoteAddr = c.RemoteAddr().String()
		req = req.WithContext(ctx)

		if req.ProtoAtLeast(1, 1) && strings.EqualFold(req.Header.Get("Expect"), "100-continue") {
			// curl waits a second for this before it sends a large body.
			if _, err := io.WriteString(writer, "HTTP/1.1 100 Continue\r\n\r\n"); err != nil {
				return
			}
			if err := writer.Flush(); err != nil {
				return
			}
		}

		rep := s.dispatch(req)
		// Read what the handler left of the body, so that the next request
		// starts at the right byte.
		_, _ = io.Copy(io.Discard, io.LimitReader(req.Body, maxBodyBytes))
		_ = req.Body.Close()

		if err := writeResponse(writer, rep); err != nil {
			return
		}
		if req.Close {
			return
		}
	}
}

// writeResponse writes rep with the agent's framing and flushes it.
func writeResponse(w *bufio.Writer, rep reply) error {
	_, err := fmt.Fprintf(w, "HTTP/1.1 %d OK\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n%s",
		rep.status, contentType, len(rep.body), rep.body)
	if err != nil {
		return err
	}
	return w.Flush()
}
