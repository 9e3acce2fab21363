// Package cli implements the contrail-sim command: "serve" runs the
// simulated Contrail config API and vRouter agent with a kernel data plane,
// and the other subcommands create and delete config objects on a running
// simulator through its HTTP config API.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
)

// Main runs contrail-sim with args (without the program name) and returns
// the process exit code. SIGINT and SIGTERM cancel the command; a second
// signal gets the default behaviour and ends the process at once.
func Main(args []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		stop()
	}()
	return Run(ctx, args, os.Stdout, os.Stderr)
}

// command is one subcommand.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

func commands() []command {
	return []command{
		{"serve", "run the config API and the vRouter agent with a kernel data plane", runServe},
		{"create-project", "create a project: create-project DOMAIN:PROJECT", runCreateProject},
		{"create-vn", "create a virtual network: create-vn DOMAIN:PROJECT:VN CIDR [CIDR...]", runCreateVN},
		{"delete-vn", "delete a virtual network: delete-vn DOMAIN:PROJECT:VN", runDeleteVN},
		{"cleanup", "remove bridges and namespaces a killed serve left behind", runCleanup},
		{"vm", "create or delete an OpenStack VM stand-in: vm create|delete --name NAME [flags]", runVM},
	}
}

// errUsage marks an error whose message is the usage, already printed.
var errUsage = errors.New("usage")

// Run runs the subcommand named by args[0] and returns the exit code: 0 on
// success, 2 for a usage error, 1 for any other failure.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		printUsage(stderr)
		return 2
	}
	// Help that the user asks for goes to stdout, so that it can be paged.
	if isHelpFlag(args[0]) || args[0] == "help" {
		printUsage(stdout)
		return 0
	}
	for _, c := range commands() {
		if c.name != args[0] {
			continue
		}
		usageOut := stderr
		if slices.ContainsFunc(args[1:], isHelpFlag) {
			usageOut = stdout
		}
		err := c.run(ctx, args[1:], stdout, usageOut)
		switch {
		case err == nil:
			return 0
		case errors.Is(err, flag.ErrHelp):
			return 0
		case errors.Is(err, errUsage):
			return 2
		default:
			fmt.Fprintf(stderr, "contrail-sim %s: %v\n", c.name, err)
			return 1
		}
	}
	fmt.Fprintf(stderr, "contrail-sim: unknown command %q\n\n", args[0])
	printUsage(stderr)
	return 2
}

func isHelpFlag(arg string) bool {
	return arg == "-h" || arg == "-help" || arg == "--help"
}

func printUsage(w io.Writer) {
	fmt.Fprintln(w, "contrail-sim simulates Tungsten Fabric (OpenContrail) for tests and demos: the")
	fmt.Fprintln(w, "config API (VNC, port 8082), one node's vRouter agent port API (port 9091), and a")
	fmt.Fprintln(w, "kernel data plane for the ports bound through it. Production never uses it.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Usage: contrail-sim COMMAND [flags] [arguments]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Commands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-15s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Flags go before the arguments. Run 'contrail-sim COMMAND -h' for the flags of a command.")
}

// newFlagSet returns a flag set that prints its usage, with synopsis, to
// stderr.
// description, when not empty, follows the synopsis.
func newFlagSet(name, synopsis, description string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: contrail-sim %s\n", synopsis)
		if description != "" {
			fmt.Fprintf(stderr, "\n%s\n", description)
		}
		var hasFlags bool
		fs.VisitAll(func(*flag.Flag) { hasFlags = true })
		if hasFlags {
			fmt.Fprintln(stderr, "\nFlags:")
			fs.PrintDefaults()
		}
	}
	return fs
}

// parseFlags parses args into fs and maps a parse failure to errUsage.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	return nil
}

// usageError prints msg and the usage of fs, and returns errUsage.
func usageError(fs *flag.FlagSet, format string, args ...any) error {
	fmt.Fprintf(fs.Output(), "contrail-sim %s: %s\n", fs.Name(), fmt.Sprintf(format, args...))
	fs.Usage()
	return errUsage
}

// newLogger returns a text logger on w at level, one of debug, info, warn
// and error.
func newLogger(w io.Writer, level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(strings.ToUpper(level))); err != nil {
		return nil, fmt.Errorf("invalid log level %q: want debug, info, warn or error", level)
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l})), nil
}
