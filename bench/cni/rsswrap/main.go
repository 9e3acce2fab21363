// Command rsswrap runs a program and writes that program's peak resident
// set size (ru_maxrss, in KiB) to a file.
//
// The benchmark cannot read a plugin's peak RSS from its own wait4: Go
// starts children with CLONE_VM, and Linux counts the peak RSS of the memory
// map a process had before exec into its ru_maxrss, so every direct child
// reports at least the benchmark's own peak. rsswrap is small, so the floor
// it adds to its child's figure is its own peak RSS, a few MiB; time the
// trivial binary through it to see that floor.
//
//	rsswrap REPORT-FILE PROGRAM [ARG...]
//
// The environment, stdin, stdout and stderr pass through, and rsswrap exits
// with the program's exit code.
package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"syscall"
)

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: rsswrap REPORT-FILE PROGRAM [ARG...]")
		os.Exit(2)
	}
	cmd := exec.Command(os.Args[2], os.Args[3:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	err := cmd.Run()
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		fmt.Fprintln(os.Stderr, "rsswrap:", err)
		os.Exit(2)
	}
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		fmt.Fprintln(os.Stderr, "rsswrap: no rusage for the child")
		os.Exit(2)
	}
	if err := os.WriteFile(os.Args[1], []byte(strconv.FormatInt(ru.Maxrss, 10)+"\n"), 0o600); err != nil {
		fmt.Fprintln(os.Stderr, "rsswrap:", err)
		os.Exit(2)
	}
	os.Exit(cmd.ProcessState.ExitCode())
}
