package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/contrail-vif/contrail-vif/pkg/sim/vmstandin"
)

// defaultAgentURL is the agent of a simulator serving with the default
// flags.
const defaultAgentURL = "http://" + DefaultAgentListen

// vmUsage is the usage of "contrail-sim vm" without a subcommand.
const vmUsage = `Usage: contrail-sim vm create|delete [flags]

Plugs an OpenStack VM stand-in into a virtual network the way Nova, Neutron and Nova's vRouter VIF
driver do, or removes one. Run 'contrail-sim vm create -h' or 'contrail-sim vm delete -h' for the flags.`

// runVM runs "contrail-sim vm create" and "contrail-sim vm delete".
func runVM(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, vmUsage)
		return errUsage
	}
	switch args[0] {
	case "create":
		return runVMCreate(ctx, args[1:], stdout, stderr)
	case "delete":
		return runVMDelete(ctx, args[1:], stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprintln(stderr, vmUsage)
		return flag.ErrHelp
	default:
		fmt.Fprintf(stderr, "contrail-sim vm: unknown subcommand %q\n\n%s\n", args[0], vmUsage)
		return errUsage
	}
}

// vmFlags are the flags that both vm subcommands take.
type vmFlags struct {
	client   vmstandin.Client
	auth     clientAuth
	name     string
	logLevel string
}

func addVMFlags(fs *flag.FlagSet) *vmFlags {
	hostname, _ := os.Hostname()
	f := &vmFlags{}
	fs.StringVar(&f.name, "name", "", "VM `name` (required): letters, digits, '-', '_' and '.'")
	fs.StringVar(&f.client.ConfigAPI, "config-api", defaultConfigAPIURL, "`URL` of the config API")
	addClientAuthFlags(fs, &f.auth)
	fs.StringVar(&f.client.Agent, "agent", defaultAgentURL, "`URL` of the vRouter agent of the node")
	fs.StringVar(&f.client.Node, "node", hostname, "compute node `name`; its virtual-router default-global-system-config:NAME gets the VM")
	fs.StringVar(&f.client.NetnsPrefix, "netns-prefix", vmstandin.DefaultNetnsPrefix, "`prefix` of the VM namespace /run/netns/PREFIX-vm-NAME")
	fs.StringVar(&f.client.HostNetns, "host-netns", "", "`name` of the namespace under /run/netns that holds the tap, the node namespace of a multi-node topology; empty for this process's namespace")
	fs.StringVar(&f.logLevel, "log-level", "warn", "log `level` of the steps on stderr: debug, info, warn or error")
	return f
}

// parse parses args into fs and sets up the client logger.
func (f *vmFlags) parse(fs *flag.FlagSet, args []string, stderr io.Writer) error {
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError(fs, "unexpected arguments %q", fs.Args())
	}
	if f.name == "" {
		return usageError(fs, "missing --name")
	}
	if err := vmstandin.CheckName(f.name); err != nil {
		return usageError(fs, "%v", err)
	}
	logger, err := newLogger(stderr, f.logLevel)
	if err != nil {
		return usageError(fs, "%v", err)
	}
	f.client.Logger = logger
	api, err := f.auth.newAPIClient(f.client.ConfigAPI)
	if err != nil {
		return err
	}
	f.client.ConfigAPIClient = api
	return nil
}

// runVMCreate runs "contrail-sim vm create" and prints the VM, one
// "key value" line per fact.
func runVMCreate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("vm create", "vm create --name NAME --vn DOMAIN:PROJECT:VN [flags]",
		"Creates a virtual-machine (server_type virtual-server), a virtual-machine-interface and one instance-ip per\n"+
			"address family of the network through the config API, links the node's virtual-router to the VM, creates\n"+
			"the namespace /run/netns/PREFIX-vm-NAME with eth0 (the VMI's MAC address and addresses, default routes\n"+
			"through the subnet gateways) and its peer tap<first 11 characters of the VMI uuid>, and binds the tap\n"+
			"through the agent with POST /port type 0, as Nova's vRouter VIF driver does. Needs root. Prints the VM's\n"+
			"uuids, tap, namespace path, addresses and gateways.", stderr)
	f := addVMFlags(fs)
	vn := fs.String("vn", "", "`fq-name` DOMAIN:PROJECT:VN of the virtual network (required)")
	project := fs.String("project", "", "`fq-name` DOMAIN:PROJECT of the VM's project; the network's project when empty")
	if err := f.parse(fs, args, stderr); err != nil {
		return err
	}
	if *vn == "" {
		return usageError(fs, "missing --vn")
	}
	req := vmstandin.CreateRequest{Name: f.name}
	var err error
	if req.VirtualNetwork, err = parseFQName(*vn, 3, "DOMAIN:PROJECT:VN"); err != nil {
		return usageError(fs, "--vn: %v", err)
	}
	if *project != "" {
		if req.Project, err = parseFQName(*project, 2, "DOMAIN:PROJECT"); err != nil {
			return usageError(fs, "--project: %v", err)
		}
	}

	vm, err := f.client.Create(ctx, req)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, "name", vm.Name)
	fmt.Fprintln(stdout, "uuid", vm.UUID)
	fmt.Fprintln(stdout, "vmi", vm.VMIUUID)
	fmt.Fprintln(stdout, "mac", vm.MAC)
	fmt.Fprintln(stdout, "tap", vm.Tap)
	fmt.Fprintln(stdout, "netns", vm.NetnsPath())
	for _, a := range vm.Addresses {
		fmt.Fprintln(stdout, "address", a)
	}
	for _, g := range vm.Gateways {
		fmt.Fprintln(stdout, "gateway", g)
	}
	return nil
}

// runVMDelete runs "contrail-sim vm delete".
func runVMDelete(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("vm delete", "vm delete --name NAME [flags]",
		"Unbinds the VM's tap through the agent, deletes the tap and the VM namespace, removes the ref from the\n"+
			"node's virtual-router and deletes the instance-ips, the virtual-machine-interface and the virtual-machine.\n"+
			"Pass the --node, --netns-prefix and --host-netns that the create used. Needs root.", stderr)
	f := addVMFlags(fs)
	if err := f.parse(fs, args, stderr); err != nil {
		return err
	}

	found, err := f.client.Delete(ctx, f.name)
	if err != nil {
		return err
	}
	if !found {
		fmt.Fprintf(stdout, "VM %s not found; nothing to delete\n", f.name)
		return nil
	}
	fmt.Fprintln(stdout, "deleted", f.name)
	return nil
}
