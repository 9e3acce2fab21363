// Command trivial is the floor benchmark's stand-in for a CNI plugin that
// does no work: it reads the network config from stdin and prints an empty
// CNI result. Timing its exec gives the process cost that every plugin pays
// (fork, exec, Go runtime start, stdin and stdout) before doing any work.
package main

import (
	"io"
	"os"
)

func main() {
	if _, err := io.Copy(io.Discard, os.Stdin); err != nil {
		os.Exit(1)
	}
	_, _ = os.Stdout.WriteString(`{"cniVersion":"1.0.0"}` + "\n")
}
