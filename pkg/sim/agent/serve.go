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
// fails for another reason, or when another Serve of s runs.
//
// While Serve runs, Stop takes the agent down and Restart brings it back
// on the same address, and Serve keeps running in between. When Serve
// returns, it cancels the armed stale sweeps (Close).
//
// Serve writes responses exactly as the real agent does:
// "HTTP/1.1 <code> OK" for every status, then only Content-Type and
// Content-Length. net/http cannot send that status line, because it always
// writes the standard reason phrase, so Serve reads each request with
// http.ReadRequest and writes the response itself. Connections are kept
// alive until the client closes them or sends "Connection: close".
func (s *Server) Serve(ctx context.Context, l net.Listener) error {
	st, err := s.beginServe(l)
	if err != nil {
		_ = l.Close()
		return err
	}
	return s.serveLoop(ctx, st, l)
}

// StartServe runs Serve in a new goroutine and returns a channel that
// receives its result. Unlike a plain "go s.Serve(...)", Stop and Restart
// work as soon as StartServe returns.
func (s *Server) StartServe(ctx context.Context, l net.Listener) <-chan error {
	done := make(chan error, 1)
	st, err := s.beginServe(l)
	if err != nil {
		_ = l.Close()
		done <- err
		return done
	}
	go func() { done <- s.serveLoop(ctx, st, l) }()
	return done
}

// serveLoop is Serve after beginServe.
func (s *Server) serveLoop(ctx context.Context, st *serveState, l net.Listener) error {
	defer s.Close()
	defer s.endServe(st)

	stop := context.AfterFunc(ctx, func() { s.shutdownServe(st) })
	defer stop()

	var wg sync.WaitGroup
	var acceptErr error
	for {
		c, err := l.Accept()
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			if !s.stopped(st, l) {
				acceptErr = fmt.Errorf("accept on %s: %w", l.Addr(), err)
				break
			}
			// Stop closed l: wait for Restart to hand over a new listener.
			select {
			case l = <-st.restarted:
				continue
			case <-ctx.Done():
			}
			break
		}

		// Stop cancels connCtx, which ends a request waiting for Faults.Latency.
		connCtx, cancelConn := context.WithCancel(ctx)
		if !s.track(st, l, c, cancelConn) {
			cancelConn()
			_ = c.Close()
			continue
		}
		wg.Go(func() {
			defer cancelConn()
			s.serveConn(connCtx, c)
			s.untrack(st, c)
		})
	}

	s.shutdownServe(st)
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
