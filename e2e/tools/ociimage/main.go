// Command ociimage writes a single-layer OCI image-layout tar archive from a
// directory, so the local test cluster can load images with
// `ctr images import` without Docker or a registry.
//
//	ociimage -rootfs DIR -name localhost/busybox:e2e -out busybox.tar -cmd sh
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
)

// stringList is a flag that may be repeated; each use appends one element.
type stringList []string

func (l *stringList) String() string { return fmt.Sprint(*l) }

func (l *stringList) Set(value string) error {
	*l = append(*l, value)
	return nil
}

func main() {
	spec := ImageSpec{OS: "linux"}
	var out string
	var entrypoint, cmd, env stringList

	flag.StringVar(&spec.RootFS, "rootfs", "", "directory whose contents become the image's only layer (required)")
	flag.StringVar(&spec.Name, "name", "", "image reference stored in the index, for example localhost/busybox:e2e (required)")
	flag.StringVar(&spec.Architecture, "arch", runtime.GOARCH, "image architecture in GOARCH spelling")
	flag.StringVar(&out, "out", "", "path of the archive to write (required)")
	flag.Var(&entrypoint, "entrypoint", "one element of the image entrypoint; repeat for more")
	flag.Var(&cmd, "cmd", "one element of the image command; repeat for more")
	flag.Var(&env, "env", "one KEY=VALUE environment entry; repeat for more (default PATH=/bin:/sbin:/usr/bin:/usr/sbin)")
	flag.Parse()

	if spec.RootFS == "" || spec.Name == "" || out == "" {
		fmt.Fprintln(os.Stderr, "ociimage: -rootfs, -name and -out are required")
		flag.Usage()
		os.Exit(2)
	}
	if len(env) == 0 {
		env = stringList{"PATH=/bin:/sbin:/usr/bin:/usr/sbin"}
	}
	spec.Entrypoint, spec.Cmd, spec.Env = entrypoint, cmd, env

	if err := WriteImageLayout(spec, out); err != nil {
		fmt.Fprintf(os.Stderr, "ociimage: %v\n", err)
		os.Exit(1)
	}
}
