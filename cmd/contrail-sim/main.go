// Command contrail-sim simulates a Tungsten Fabric (OpenContrail) config API
// and one node's vRouter agent for the tests and demo of contrail-vif.
// Run "contrail-sim help" for its commands.
package main

import (
	"os"

	"github.com/contrail-vif/contrail-vif/pkg/sim/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:]))
}
