// Command imagebuild writes a container image made of static binaries as
// an OCI image-layout tar archive, without a container engine. The image
// has one layer: the binaries, an /etc/passwd with root and nonroot
// (65532), the CA certificates of the build machine, and /tmp. Timestamps
// are fixed, so the same inputs give the same image digest.
//
//	go run ./hack/imagebuild -name localhost/contrail-vif/controller:dev \
//	    -file bin/contrail-vif-controller:/contrail-vif-controller \
//	    -entrypoint /contrail-vif-controller -out _output/images/contrail-vif-controller.tar
//
// Load the archive with `ctr -n k8s.io images import` or `kind load
// image-archive`, or copy it to a registry with `skopeo copy
// oci-archive:...`.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
)

func main() {
	var (
		spec Spec
		ref  string
		out  string
	)
	flag.StringVar(&ref, "name", "", "image name with tag, for example localhost/contrail-vif/controller:dev (required)")
	flag.StringVar(&out, "out", "", "path of the archive to write (required)")
	flag.Func("file", "`SOURCE:DEST` copies the file SOURCE to the absolute path DEST in the image; repeat for more files", func(v string) error {
		src, dest, ok := strings.Cut(v, ":")
		if !ok || src == "" || dest == "" {
			return fmt.Errorf("want SOURCE:DEST, got %q", v)
		}
		spec.Files = append(spec.Files, File{Source: src, Dest: dest})
		return nil
	})
	entrypoint := flag.String("entrypoint", "", "absolute path in the image of the program to run (required)")
	flag.StringVar(&spec.User, "user", fmt.Sprintf("%d:%d", NonrootUID, NonrootUID), "`uid:gid` the container runs as unless the pod sets runAsUser")
	flag.StringVar(&spec.CABundle, "ca-bundle", "/etc/ssl/certs/ca-certificates.crt", "PEM `file` of CA certificates to put into the image")
	flag.StringVar(&spec.Architecture, "arch", runtime.GOARCH, "architecture of the binaries, in Go's spelling")
	flag.StringVar(&spec.OS, "os", "linux", "operating system of the binaries")
	flag.Parse()

	if ref == "" || out == "" || *entrypoint == "" || len(spec.Files) == 0 || flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "imagebuild: -name, -out, -entrypoint and at least one -file are required, and no arguments")
		flag.Usage()
		os.Exit(2)
	}
	if err := run(spec, ref, *entrypoint, out); err != nil {
		fmt.Fprintf(os.Stderr, "imagebuild: %v\n", err)
		os.Exit(1)
	}
}

func run(spec Spec, ref, entrypoint, out string) error {
	tag, err := name.NewTag(ref, name.StrictValidation)
	if err != nil {
		return fmt.Errorf("invalid image name %q (want REPOSITORY:TAG): %w", ref, err)
	}
	spec.Entrypoint = []string{entrypoint}
	spec.Labels = map[string]string{"org.opencontainers.image.title": tag.RepositoryStr()}

	img, err := Build(spec)
	if err != nil {
		return fmt.Errorf("build image %s: %w", ref, err)
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return fmt.Errorf("create output directory: %w", err)
	}
	if err := WriteArchive(img, tag, out); err != nil {
		return fmt.Errorf("write image %s: %w", ref, err)
	}
	digest, err := img.Digest()
	if err != nil {
		return fmt.Errorf("compute image digest: %w", err)
	}
	fmt.Printf("%s %s %s\n", out, ref, digest)
	return nil
}
