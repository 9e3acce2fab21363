package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"time"

	"github.com/contrail-vif/contrail-vif/bench/internal/apicount"
	"github.com/contrail-vif/contrail-vif/pkg/sim/configapi"
)

// simAPI is the in-process config API that the controller talks to.
type simAPI struct {
	server  *configapi.Server
	counter *apicount.Counter
	http    *http.Server
	url     string
	done    chan error
}

// vnFQName returns the fq-name of the virtual network of NAD i.
func vnFQName(i int) []string {
	return []string{"default-domain", "cvifbench", fmt.Sprintf("vn-%03d", i)}
}

// nodeName returns the name of node i.
func nodeName(cfg config, i int) string {
	return fmt.Sprintf("%s-%02d", cfg.node, i)
}

// startSim creates a virtual-router per node and a virtual network with a
// /24 per NAD, and serves the config API on a free loopback port.
func startSim(cfg config) (*simAPI, error) {
	server := configapi.NewServer(nil)
	for i := range cfg.nodes {
		if _, err := server.EnsureVirtualRouter(nodeName(cfg, i)); err != nil {
			return nil, err
		}
	}
	for i := range cfg.nads {
		subnet := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 100, byte(i), 0}), 24)
		if _, err := server.EnsureVirtualNetwork(vnFQName(i), []netip.Prefix{subnet}); err != nil {
			return nil, err
		}
	}

	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen for the config API: %w", err)
	}
	s := &simAPI{
		server:  server,
		counter: apicount.New(),
		url:     "http://" + listener.Addr().String(),
		done:    make(chan error, 1),
	}
	s.http = &http.Server{Handler: s.counter.Wrap(server.Handler()), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		err := s.http.Serve(listener)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		s.done <- err
	}()
	return s, nil
}

func (s *simAPI) close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return errors.Join(s.http.Shutdown(ctx), <-s.done)
}
