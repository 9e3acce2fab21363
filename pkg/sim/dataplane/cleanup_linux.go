package dataplane

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/containernetworking/plugins/pkg/netlinksafe"
)

// Cleanup removes every bridge, veth, VXLAN device and gateway namespace
// whose name has the form a DataPlane with config would give it, whichever
// process created them. It looks for links in the node namespace
// config.Netns, and finds none when that namespace no longer exists. It is
// meant for objects that a killed simulator left behind, and it also
// removes those of a simulator still running with the same prefixes. It
// returns the names it removed.
func Cleanup(config Config) ([]string, error) {
	config, err := config.withDefaults()
	if err != nil {
		return nil, err
	}

	var removed []string
	var errs []error

	err = inNetns(config.Netns, func() error {
		links, err := removeLinksByPrefix(config.LinkPrefix)
		removed = append(removed, links...)
		return err
	})
	if err != nil && !isNetnsGone(err) {
		errs = append(errs, err)
	}

	entries, err := os.ReadDir(NetnsDir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		errs = append(errs, fmt.Errorf("list %s: %w", NetnsDir, err))
	}
	for _, e := range entries {
		if !hasShortIDSuffix(e.Name(), config.NetnsPrefix) {
			continue
		}
		if _, err := DeleteNamedNetns(e.Name()); err != nil {
			errs = append(errs, fmt.Errorf("delete netns %q: %w", e.Name(), err))
			continue
		}
		removed = append(removed, NetnsPath(e.Name()))
	}
	return removed, errors.Join(errs...)
}

// removeLinksByPrefix deletes the data plane links with linkPrefix in the
// current namespace and returns their names.
func removeLinksByPrefix(linkPrefix string) ([]string, error) {
	links, err := netlinksafe.LinkList()
	if err != nil {
		return nil, fmt.Errorf("list links: %w", err)
	}
	var removed []string
	var errs []error
	// Gateway veths, then VXLAN devices, then bridges: deleting a bridge
	// before its ports is allowed, but this order matches Close.
	for _, role := range []string{"g", "x", "b"} {
		for _, link := range links {
			name := link.Attrs().Name
			if !hasShortIDSuffix(name, linkPrefix+role) {
				continue
			}
			if _, err := deleteLink(name); err != nil {
				errs = append(errs, err)
				continue
			}
			removed = append(removed, name)
		}
	}
	return removed, errors.Join(errs...)
}

// hasShortIDSuffix reports whether name is prefix followed by exactly
// shortIDLen lowercase hex digits.
func hasShortIDSuffix(name, prefix string) bool {
	rest, ok := strings.CutPrefix(name, prefix)
	if !ok || len(rest) != shortIDLen {
		return false
	}
	for _, c := range rest {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
