//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

// The names that deployments/ fixes.
const (
	deployNamespace = "contrail-vif-system"
	controllerSA    = "contrail-vif-controller"
	nodeSA          = "contrail-vif-node"
	controllerName  = "contrail-vif-controller"
	nodeDaemonSet   = "contrail-vif-node"
	configMapPrefix = "contrail-vif-controller-config-"
	keystoneSecret  = "contrail-vif-config-api"
)

var overlays = []string{"production", "local-sim"}

func overlayDir(overlay string) string {
	return filepath.Join(cluster.Env.Root, "deployments", "overlays", overlay)
}

// renderOverlay returns the objects of an overlay, as kubectl's built-in
// kustomize renders them.
func renderOverlay(t *testing.T, overlay string) []*unstructured.Unstructured {
	t.Helper()
	out, err := cluster.Kubectl(context.Background(), "kustomize", overlayDir(overlay))
	if err != nil {
		t.Fatal(err)
	}
	var objs []*unstructured.Unstructured
	dec := utilyaml.NewYAMLOrJSONDecoder(strings.NewReader(out), 4096)
	for {
		obj := &unstructured.Unstructured{}
		err := dec.Decode(&obj.Object)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("decode the output of kubectl kustomize %s: %v", overlay, err)
		}
		if len(obj.Object) > 0 {
			objs = append(objs, obj)
		}
	}
	if len(objs) == 0 {
		t.Fatalf("overlay %s renders no objects", overlay)
	}
	return objs
}

// findObject converts the object of the given kind and name into out.
// A name that ends in "-" matches the generated names that start with it.
func findObject(t *testing.T, objs []*unstructured.Unstructured, kind, name string, out any) bool {
	t.Helper()
	for _, obj := range objs {
		if obj.GetKind() != kind {
			continue
		}
		if obj.GetName() != name && !(strings.HasSuffix(name, "-") && strings.HasPrefix(obj.GetName(), name)) {
			continue
		}
		if err := fromUnstructured(obj, out); err != nil {
			t.Fatal(err)
		}
		return true
	}
	return false
}

// TestManifestsServerDryRun sends every object of every overlay through
// the apiserver's validation and admission without storing it.
func TestManifestsServerDryRun(t *testing.T) {
	ctx := context.Background()
	for _, overlay := range overlays {
		t.Run(overlay, func(t *testing.T) {
			objs := renderOverlay(t, overlay)
			var ns corev1.Namespace
			if !findObject(t, objs, "Namespace", deployNamespace, &ns) {
				t.Fatalf("overlay %s has no Namespace %s", overlay, deployNamespace)
			}
			// A dry run stores nothing, so the objects in the namespace
			// would fail as "namespace not found" unless it exists.
			ensureTestNamespace(t, &ns)

			out, err := cluster.Kubectl(ctx, "apply", "--dry-run=server", "-k", overlayDir(overlay), "-o", "name")
			if err != nil {
				t.Fatalf("server-side dry run of overlay %s: %v", overlay, err)
			}
			for _, obj := range objs {
				want := strings.ToLower(obj.GetKind()) + "/" + obj.GetName()
				if !containsObjectName(out, want) {
					t.Errorf("dry run output has no %s:\n%s", want, out)
				}
			}
		})
	}
}

// containsObjectName reports whether kubectl's "-o name" output lists
// kind/name, whatever API group kubectl puts after the kind.
func containsObjectName(out, kindName string) bool {
	kind, name, _ := strings.Cut(kindName, "/")
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		k, n, ok := strings.Cut(strings.TrimSpace(line), "/")
		if !ok || n != name {
			continue
		}
		if group, _, _ := strings.Cut(k, "."); group == kind {
			return true
		}
	}
	return false
}

// ensureTestNamespace creates ns unless it exists, and deletes it at the
// end of the test only if this test created it. It creates ns with
// kubectl's --save-config, as `kubectl apply` would, so that applying the
// overlay later does not warn about a missing last-applied annotation.
func ensureTestNamespace(t *testing.T, ns *corev1.Namespace) {
	t.Helper()
	ctx := context.Background()
	_, err := cluster.Client.CoreV1().Namespaces().Get(ctx, ns.Name, metav1.GetOptions{})
	if err == nil {
		return
	}
	if !apierrors.IsNotFound(err) {
		t.Fatalf("get namespace %s: %v", ns.Name, err)
	}

	ns = ns.DeepCopy()
	ns.APIVersion, ns.Kind = "v1", "Namespace"
	data, err := json.Marshal(ns)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "namespace.json")
	if err := os.WriteFile(file, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := cluster.Kubectl(ctx, "create", "--save-config", "-f", file); err != nil {
		t.Fatalf("create namespace %s: %v", ns.Name, err)
	}
	t.Cleanup(func() { deleteTestNamespace(t, ns.Name) })
}

// deleteTestNamespace deletes an empty namespace. The local cluster runs
// no kube-controller-manager, whose namespace controller would remove the
// "kubernetes" finalizer, so the test removes it itself.
func deleteTestNamespace(t *testing.T, name string) {
	ctx := context.Background()
	namespaces := cluster.Client.CoreV1().Namespaces()
	if err := namespaces.Delete(ctx, name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		t.Errorf("delete namespace %s: %v", name, err)
		return
	}
	ns, err := namespaces.Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return
	}
	if err != nil {
		t.Errorf("get namespace %s: %v", name, err)
		return
	}
	ns.Spec.Finalizers = nil
	if _, err := namespaces.Finalize(ctx, ns, metav1.UpdateOptions{}); err != nil && !apierrors.IsNotFound(err) {
		t.Errorf("finalize namespace %s: %v", name, err)
	}
}

// varReference matches $(NAME) in container arguments.
var varReference = regexp.MustCompile(`\$\(([A-Za-z_][A-Za-z0-9_]*)\)`)

// TestManifestsController checks the controller Deployment of every overlay
// for what it must have: one leader-elected replica, probes, metrics,
// limits, a locked-down security context, and a definition of every
// variable its arguments use.
func TestManifestsController(t *testing.T) {
	for _, overlay := range overlays {
		t.Run(overlay, func(t *testing.T) {
			objs := renderOverlay(t, overlay)
			var deploy appsv1.Deployment
			if !findObject(t, objs, "Deployment", controllerName, &deploy) {
				t.Fatalf("no Deployment %s", controllerName)
			}
			var config corev1.ConfigMap
			if !findObject(t, objs, "ConfigMap", configMapPrefix, &config) {
				t.Fatalf("no ConfigMap %s*", configMapPrefix)
			}

			if deploy.Spec.Replicas == nil || *deploy.Spec.Replicas != 1 {
				t.Errorf("replicas = %v, expected 1", deploy.Spec.Replicas)
			}
			pod := deploy.Spec.Template.Spec
			if pod.ServiceAccountName != controllerSA {
				t.Errorf("service account %q, expected %q", pod.ServiceAccountName, controllerSA)
			}
			if len(pod.Containers) != 1 {
				t.Fatalf("%d containers, expected 1", len(pod.Containers))
			}
			c := pod.Containers[0]
			for _, arg := range []string{"--leader-elect", "--metrics-bind-address=:8080", "--health-probe-bind-address=:8081"} {
				if !slices.Contains(c.Args, arg) {
					t.Errorf("args %q lack %s", c.Args, arg)
				}
			}
			checkHTTPProbe(t, "liveness", c.LivenessProbe, "/healthz", "health", c.Ports, 8081)
			checkHTTPProbe(t, "readiness", c.ReadinessProbe, "/readyz", "health", c.Ports, 8081)
			if c.Resources.Limits.Memory().IsZero() || c.Resources.Requests.Cpu().IsZero() {
				t.Errorf("resources %+v lack a memory limit or a CPU request", c.Resources)
			}
			checkRestricted(t, pod.SecurityContext, c.SecurityContext)

			defined := map[string]bool{}
			for _, e := range c.Env {
				defined[e.Name] = true
			}
			for key := range config.Data {
				defined[key] = true
			}
			if len(c.EnvFrom) != 1 || c.EnvFrom[0].ConfigMapRef == nil || c.EnvFrom[0].ConfigMapRef.Name != config.Name {
				t.Errorf("envFrom %+v does not name ConfigMap %s", c.EnvFrom, config.Name)
			}
			for _, arg := range c.Args {
				for _, m := range varReference.FindAllStringSubmatch(arg, -1) {
					if !defined[m[1]] {
						t.Errorf("argument %s uses $(%s), which neither env nor the ConfigMap defines; Kubernetes would pass it literally", arg, m[1])
					}
				}
			}
		})
	}
}

func checkHTTPProbe(t *testing.T, name string, p *corev1.Probe, path, portName string, ports []corev1.ContainerPort, port int32) {
	t.Helper()
	if p == nil || p.HTTPGet == nil {
		t.Errorf("%s probe %+v is not an HTTP GET", name, p)
		return
	}
	if p.HTTPGet.Path != path || p.HTTPGet.Port.String() != portName {
		t.Errorf("%s probe gets %s on port %s, expected %s on %s", name, p.HTTPGet.Path, p.HTTPGet.Port.String(), path, portName)
	}
	for _, cp := range ports {
		if cp.Name == portName && cp.ContainerPort != port {
			t.Errorf("port %s is %d, expected %d", portName, cp.ContainerPort, port)
		}
	}
}

// checkRestricted checks the settings of the restricted Pod Security
// level that the controller container must meet.
func checkRestricted(t *testing.T, pod *corev1.PodSecurityContext, c *corev1.SecurityContext) {
	t.Helper()
	if pod == nil || pod.RunAsNonRoot == nil || !*pod.RunAsNonRoot {
		t.Error("pod does not set runAsNonRoot: true")
	}
	if pod == nil || pod.SeccompProfile == nil || pod.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Error("pod does not set the RuntimeDefault seccomp profile")
	}
	if c == nil {
		t.Fatal("container has no securityContext")
	}
	if c.ReadOnlyRootFilesystem == nil || !*c.ReadOnlyRootFilesystem {
		t.Error("container root filesystem is writable")
	}
	if c.AllowPrivilegeEscalation == nil || *c.AllowPrivilegeEscalation {
		t.Error("container allows privilege escalation")
	}
	if c.Capabilities == nil || !slices.Contains(c.Capabilities.Drop, "ALL") || len(c.Capabilities.Add) > 0 {
		t.Errorf("capabilities %+v, expected drop ALL and add none", c.Capabilities)
	}
}

// TestManifestsNodeInstaller checks the DaemonSet that installs the plugin:
// it runs on every node whatever its taints, has no API credentials and no
// host network, and mounts only the host's CNI binary directory.
func TestManifestsNodeInstaller(t *testing.T) {
	for _, overlay := range overlays {
		t.Run(overlay, func(t *testing.T) {
			objs := renderOverlay(t, overlay)
			var ds appsv1.DaemonSet
			if !findObject(t, objs, "DaemonSet", nodeDaemonSet, &ds) {
				t.Fatalf("no DaemonSet %s", nodeDaemonSet)
			}
			pod := ds.Spec.Template.Spec
			if !slices.ContainsFunc(pod.Tolerations, func(tol corev1.Toleration) bool {
				return tol.Operator == corev1.TolerationOpExists && tol.Key == "" && tol.Effect == ""
			}) {
				t.Errorf("tolerations %+v do not tolerate every taint", pod.Tolerations)
			}
			if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
				t.Error("the pod gets a service account token")
			}
			if pod.HostNetwork {
				t.Error("the pod uses the host network")
			}
			var hostPaths []string
			for _, v := range pod.Volumes {
				if v.HostPath != nil {
					hostPaths = append(hostPaths, v.HostPath.Path)
				}
			}
			if !slices.Equal(hostPaths, []string{"/opt/cni/bin"}) {
				t.Errorf("host paths %q, expected only /opt/cni/bin", hostPaths)
			}
			if len(pod.Containers) != 1 {
				t.Fatalf("%d containers, expected 1", len(pod.Containers))
			}
			c := pod.Containers[0]
			if c.ReadinessProbe == nil || c.ReadinessProbe.Exec == nil || !slices.Contains(c.ReadinessProbe.Exec.Command, "--check") {
				t.Errorf("readiness probe %+v does not run the installer's --check", c.ReadinessProbe)
			}
			if c.SecurityContext == nil || c.SecurityContext.Privileged != nil && *c.SecurityContext.Privileged {
				t.Error("the installer is privileged or has no securityContext")
			} else if c.SecurityContext.Capabilities == nil || !slices.Contains(c.SecurityContext.Capabilities.Drop, "ALL") {
				t.Errorf("installer capabilities %+v, expected drop ALL", c.SecurityContext.Capabilities)
			}
			if c.Resources.Limits.Memory().IsZero() {
				t.Error("the installer has no memory limit")
			}
		})
	}
}

// TestManifestsOverlayDifferences checks what differs between the overlays:
// only production carries the Keystone Secret, mounted where the controller
// reads the password, and local-sim points the controller at the
// simulator's Service.
func TestManifestsOverlayDifferences(t *testing.T) {
	t.Run("production", func(t *testing.T) {
		objs := renderOverlay(t, "production")
		var secret corev1.Secret
		if !findObject(t, objs, "Secret", keystoneSecret, &secret) {
			t.Fatalf("no Secret %s", keystoneSecret)
		}
		if !strings.HasPrefix(secret.StringData["keystone-password"], "REPLACE-ME") {
			t.Errorf("the Secret's keystone-password is not the REPLACE-ME placeholder")
		}
		var deploy appsv1.Deployment
		var config corev1.ConfigMap
		if !findObject(t, objs, "Deployment", controllerName, &deploy) || !findObject(t, objs, "ConfigMap", configMapPrefix, &config) {
			t.Fatal("no controller Deployment or ConfigMap")
		}
		mountPath := ""
		for _, v := range deploy.Spec.Template.Spec.Volumes {
			if v.Secret == nil || v.Secret.SecretName != keystoneSecret {
				continue
			}
			for _, m := range deploy.Spec.Template.Spec.Containers[0].VolumeMounts {
				if m.Name == v.Name {
					mountPath = m.MountPath
				}
			}
		}
		if want := filepath.Join(mountPath, "keystone-password"); mountPath == "" || config.Data["KEYSTONE_PASSWORD_FILE"] != want {
			t.Errorf("KEYSTONE_PASSWORD_FILE = %q with the Secret mounted at %q; expected %q", config.Data["KEYSTONE_PASSWORD_FILE"], mountPath, want)
		}
		if config.Data["KEYSTONE_URL"] == "" {
			t.Error("KEYSTONE_URL is empty, so the controller would not authenticate")
		}
	})

	t.Run("local-sim", func(t *testing.T) {
		objs := renderOverlay(t, "local-sim")
		for _, obj := range objs {
			if obj.GetKind() == "Secret" {
				t.Errorf("local-sim has Secret %s; it needs none", obj.GetName())
			}
		}
		var config corev1.ConfigMap
		var svc corev1.Service
		if !findObject(t, objs, "ConfigMap", configMapPrefix, &config) || !findObject(t, objs, "Service", "contrail-sim-config-api", &svc) {
			t.Fatal("no controller ConfigMap or contrail-sim Service")
		}
		u, err := url.Parse(config.Data["CONFIG_API_URL"])
		if err != nil {
			t.Fatalf("CONFIG_API_URL: %v", err)
		}
		if want := fmt.Sprintf("%s.%s.svc:%d", svc.Name, deployNamespace, svc.Spec.Ports[0].Port); u.Host != want {
			t.Errorf("CONFIG_API_URL host %q, expected the Service %q", u.Host, want)
		}
		var sim appsv1.Deployment
		if !findObject(t, objs, "Deployment", "contrail-sim", &sim) {
			t.Fatal("no Deployment contrail-sim")
		}
		args := strings.Join(sim.Spec.Template.Spec.Containers[0].Args, " ")
		if !strings.Contains(args, "--agent-listen=127.0.0.1:9091") {
			t.Errorf("contrail-sim args %q: the agent must listen on 127.0.0.1:9091, where the plugin calls it", args)
		}
		if !sim.Spec.Template.Spec.HostNetwork {
			t.Error("contrail-sim does not run in the host network, so the plugin cannot reach its agent")
		}
	})
}
