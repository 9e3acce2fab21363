// Command contrail-vif is the CNI plugin that plugs a Contrail (Tungsten
// Fabric) virtual network into a pod as an extra interface, bound through
// the node's vRouter agent. Multus calls it for each NetworkAttachmentDefinition
// of type "contrail-vif".
package main

import (
	"context"
	"fmt"
	"os"
	"runtime"

	"github.com/containernetworking/cni/pkg/skel"
	"github.com/containernetworking/cni/pkg/version"
	"github.com/containernetworking/plugins/pkg/ns"

	"github.com/contrail-vif/contrail-vif/pkg/plugin"
)

func init() {
	// Namespace switches apply to one OS thread; keep main on the thread
	// that starts in the host namespace.
	runtime.LockOSThread()
}

func main() {
	hostNS, err := ns.GetCurrentNS()
	if err != nil {
		fmt.Fprintf(os.Stderr, "contrail-vif: open the host network namespace: %v\n", err)
		os.Exit(1)
	}
	p := plugin.New(hostNS, os.Stderr)
	ctx := context.Background()

	skel.PluginMainFuncs(skel.CNIFuncs{
		Add: func(args *skel.CmdArgs) error {
			result, err := p.Add(ctx, args)
			if err != nil {
				return err
			}
			return result.Print()
		},
		Del:    func(args *skel.CmdArgs) error { return p.Del(ctx, args) },
		Check:  func(args *skel.CmdArgs) error { return p.Check(ctx, args) },
		Status: func(args *skel.CmdArgs) error { return p.Status(ctx, args) },
		GC:     func(args *skel.CmdArgs) error { return p.GC(ctx, args) },
	}, version.PluginSupports("0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"), "contrail-vif: Contrail virtual network attachments for Multus")
}
