package framework

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/containernetworking/plugins/pkg/netlinksafe"
	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/vishvananda/netlink"
)

// PodNetnsPath returns a path to the network namespace of the pod with the
// given UID: /proc/<pid>/ns/net of a process in the pod's cgroup. kubelet's
// cgroupfs driver names the pod cgroup "pod<uid>". The path is valid while
// that process lives.
func PodNetnsPath(podUID string) (string, error) {
	marker := "pod" + podUID
	hostNS, err := os.Readlink("/proc/self/ns/net")
	if err != nil {
		return "", fmt.Errorf("read host netns: %w", err)
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return "", fmt.Errorf("list /proc: %w", err)
	}
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		cg, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cgroup"))
		if err != nil || !strings.Contains(string(cg), marker) {
			continue
		}
		path := filepath.Join("/proc", e.Name(), "ns", "net")
		target, err := os.Readlink(path)
		if err != nil || target == hostNS {
			continue
		}
		return path, nil
	}
	return "", fmt.Errorf("no process of pod %s found in a network namespace of its own", podUID)
}

// LinkState is what a test checks of one interface inside a pod.
type LinkState struct {
	Name      string
	MAC       string
	MTU       int
	Addresses []*net.IPNet
	// DefaultGateway is the gateway of the IPv4 default route through this
	// link, nil when there is none.
	DefaultGateway net.IP
}

// InspectLink reads an interface and its IPv4 default route in a netns.
func InspectLink(netnsPath, ifname string) (*LinkState, error) {
	var out *LinkState
	err := ns.WithNetNSPath(netnsPath, func(ns.NetNS) error {
		link, err := netlinksafe.LinkByName(ifname)
		if err != nil {
			return fmt.Errorf("find %s: %w", ifname, err)
		}
		addrs, err := netlinksafe.AddrList(link, netlink.FAMILY_ALL)
		if err != nil {
			return fmt.Errorf("list addresses of %s: %w", ifname, err)
		}
		state := &LinkState{Name: ifname, MAC: link.Attrs().HardwareAddr.String(), MTU: link.Attrs().MTU}
		for _, a := range addrs {
			if a.IP.IsLinkLocalUnicast() {
				continue
			}
			state.Addresses = append(state.Addresses, a.IPNet)
		}
		routes, err := netlinksafe.RouteList(link, netlink.FAMILY_V4)
		if err != nil {
			return fmt.Errorf("list routes of %s: %w", ifname, err)
		}
		for _, r := range routes {
			if r.Dst == nil || r.Dst.String() == "0.0.0.0/0" {
				state.DefaultGateway = r.Gw
			}
		}
		out = state
		return nil
	})
	return out, err
}

// Ping sends one ICMP echo from inside netnsPath and reports whether a reply
// came back within a second. Callers must only aim at addresses inside
// namespaces the test created.
func Ping(ctx context.Context, netnsPath, ip string) (bool, string) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "nsenter", "--net="+netnsPath, "ping", "-c", "1", "-W", "1", ip)
	out, err := cmd.CombinedOutput()
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		return false, fmt.Sprintf("run ping: %v", err)
	}
	return err == nil, strings.TrimSpace(string(out))
}

// RunInNetns runs a command inside netnsPath and returns its combined output.
func RunInNetns(ctx context.Context, netnsPath string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	full := append([]string{"--net=" + netnsPath}, args...)
	out, err := exec.CommandContext(ctx, "nsenter", full...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("nsenter %s: %w: %s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}
