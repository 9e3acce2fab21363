package agent

import (
	"errors"

	"github.com/containernetworking/plugins/pkg/netlinksafe"
	"github.com/vishvananda/netlink"
)

// kernelLinkExists reports whether the network namespace of the calling
// thread has a link named ifname. Like the agent's if_nametoindex check, it
// counts any failure as missing, and it logs failures other than "not
// found".
func (s *Server) kernelLinkExists(ifname string) bool {
	_, err := netlinksafe.LinkByName(ifname)
	if err == nil {
		return true
	}
	var notFound netlink.LinkNotFoundError
	if !errors.As(err, &notFound) {
		s.logger().Warn("failed to look up host interface; treating it as missing", "ifname", ifname, "error", err)
	}
	return false
}
