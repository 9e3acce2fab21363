package dataplane

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/containernetworking/plugins/pkg/netlinksafe"
)

// Cleanup removes every bridge, veth and gateway namespace whose name has
// the form a DataPlane with config would give it, whichever process created
// them. It is meant for objects that a killed simulator left behind, and it
// also removes those of a simulator still running with the same prefixes.
// It returns the names it removed.
func Cleanup(config Config) ([]string, error) {
	config, err := config.withDefaults()
	if err != nil {
		return nil, err
	}

	var removed []string
	var errs []error

	links, err := netlinksafe.LinkList()
	if err != nil {
		return nil, fmt.Errorf("list links: %w", err)
	}
	// Veths first: deleting a bridge before its ports is allowed, but this
	// order matches Close.
	for _, role := range []string{"g", "b"} {
		for _, link := range links {
			name := link.Attrs().Name
			if !hasShortIDSuffix(name, config.LinkPrefix+role) {
				continue
			}
			if _, err := deleteLink(name); err != nil {
				errs = append(errs, err)
				continue
			}
			removed = append(removed, name)
		}
	}

	entries, err := os.ReadDir(netnsDir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		errs = append(errs, fmt.Errorf("list %s: %w", netnsDir, err))
	}
	for _, e := range entries {
		if !hasShortIDSuffix(e.Name(), config.NetnsPrefix) {
			continue
		}
		if _, err := deleteNamedNetns(e.Name()); err != nil {
			errs = append(errs, fmt.Errorf("delete netns %q: %w", e.Name(), err))
			continue
		}
		removed = append(removed, netnsPath(e.Name()))
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
