//go:build e2e

package e2e

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
)

// TestManifestsControllerRBAC applies the controller's RBAC objects and
// checks with the apiserver, impersonating the controller's
// ServiceAccount, that it may do exactly what the controller needs and
// nothing more. It needs an apiserver with RBAC authorization, which
// e2e/cluster/up.sh starts.
func TestManifestsControllerRBAC(t *testing.T) {
	objs := renderOverlay(t, "production")
	var ns corev1.Namespace
	if !findObject(t, objs, "Namespace", deployNamespace, &ns) {
		t.Fatalf("no Namespace %s", deployNamespace)
	}
	ensureTestNamespace(t, &ns)
	applyRBAC(t, objs)

	// An account without bindings must be refused, or the apiserver
	// authorizes everything and the checks below prove nothing.
	if canI(t, nodeSA, "list", "secrets", "-A") {
		t.Fatalf("the apiserver lets %s list Secrets; it must run with --authorization-mode=Node,RBAC", nodeSA)
	}

	allowed := [][]string{
		{"get", "pods", "-n", "default"},
		{"list", "pods", "-A"},
		{"watch", "pods", "-A"},
		{"patch", "pods", "-n", "default"},
		{"get", "network-attachment-definitions.k8s.cni.cncf.io", "-n", "default"},
		{"list", "network-attachment-definitions.k8s.cni.cncf.io", "-A"},
		{"watch", "network-attachment-definitions.k8s.cni.cncf.io", "-A"},
		{"update", "network-attachment-definitions.k8s.cni.cncf.io", "-n", "default"},
		{"patch", "network-attachment-definitions.k8s.cni.cncf.io", "-n", "default"},
		{"create", "events", "-n", "default"},
		{"patch", "events", "-n", "default"},
		{"create", "events.events.k8s.io", "-n", "default"},
		{"patch", "events.events.k8s.io", "-n", "default"},
		{"create", "leases.coordination.k8s.io", "-n", deployNamespace},
		{"get", "leases.coordination.k8s.io/contrail-vif-controller", "-n", deployNamespace},
		{"update", "leases.coordination.k8s.io/contrail-vif-controller", "-n", deployNamespace},
	}
	denied := [][]string{
		{"get", "secrets", "-n", "default"},
		{"get", "secrets", "-n", "kube-system"},
		{"list", "secrets", "-A"},
		{"get", "secrets/" + keystoneSecret, "-n", deployNamespace},
		{"list", "secrets", "-n", deployNamespace},
		{"create", "pods", "-n", "default"},
		{"delete", "pods", "-n", "default"},
		{"update", "pods", "-n", "default"},
		{"update", "pods", "--subresource=status", "-n", "default"},
		{"create", "pods", "--subresource=exec", "-n", "default"},
		{"create", "network-attachment-definitions.k8s.cni.cncf.io", "-n", "default"},
		{"delete", "network-attachment-definitions.k8s.cni.cncf.io", "-n", "default"},
		{"list", "events", "-A"},
		{"delete", "events", "-n", "default"},
		{"get", "leases.coordination.k8s.io/kube-scheduler", "-n", "kube-system"},
		{"create", "leases.coordination.k8s.io", "-n", "kube-system"},
		{"get", "leases.coordination.k8s.io/other-lease", "-n", deployNamespace},
		{"delete", "leases.coordination.k8s.io/contrail-vif-controller", "-n", deployNamespace},
		{"list", "nodes"},
		{"list", "namespaces"},
		{"get", "configmaps", "-n", deployNamespace},
		{"create", "serviceaccounts", "--subresource=token", "-n", deployNamespace},
		{"create", "deployments.apps", "-n", deployNamespace},
		{"create", "clusterrolebindings.rbac.authorization.k8s.io"},
		{"bind", "clusterroles.rbac.authorization.k8s.io"},
		{"escalate", "roles.rbac.authorization.k8s.io", "-n", deployNamespace},
		{"impersonate", "serviceaccounts", "-A"},
	}
	for _, args := range allowed {
		if !canI(t, controllerSA, args...) {
			t.Errorf("%s cannot %s, which the controller needs", controllerSA, strings.Join(args, " "))
		}
	}
	for _, args := range denied {
		if canI(t, controllerSA, args...) {
			t.Errorf("%s can %s, which the controller does not need", controllerSA, strings.Join(args, " "))
		}
	}

	// The plugin installer needs no API access at all.
	for _, args := range [][]string{{"get", "pods", "-n", "default"}, {"get", "network-attachment-definitions.k8s.cni.cncf.io", "-A"}, {"get", "secrets", "-n", deployNamespace}} {
		if canI(t, nodeSA, args...) {
			t.Errorf("%s can %s; it should have no permissions", nodeSA, strings.Join(args, " "))
		}
	}
}

// canI runs `kubectl auth can-i` as the ServiceAccount sa of the
// deployment namespace and reports whether the apiserver allows the request.
func canI(t *testing.T, sa string, args ...string) bool {
	t.Helper()
	full := append([]string{"auth", "can-i", "--as=system:serviceaccount:" + deployNamespace + ":" + sa}, args...)
	out, err := cluster.Kubectl(context.Background(), full...)
	// kubectl prints "yes", or "no" and exits 1, perhaps with the reason
	// after a dash; warnings may come first on stderr.
	for _, line := range strings.Split(out, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "yes" && err == nil:
			return true
		case line == "no" || strings.HasPrefix(line, "no - "):
			return false
		}
	}
	t.Fatalf("kubectl auth can-i %s as %s: %v (output %q)", strings.Join(args, " "), sa, err, out)
	return false
}

// applyRBAC creates the ServiceAccounts, roles and bindings among objs
// that do not exist yet, and deletes those at the end of the test.
func applyRBAC(t *testing.T, objs []*unstructured.Unstructured) {
	t.Helper()
	ctx := context.Background()
	var created []*unstructured.Unstructured
	t.Cleanup(func() {
		for _, obj := range slices.Backward(created) {
			if err := deleteObject(ctx, obj); err != nil && !apierrors.IsNotFound(err) {
				t.Errorf("delete %s %s: %v", obj.GetKind(), obj.GetName(), err)
			}
		}
	})
	for _, obj := range objs {
		err := createObject(ctx, obj)
		if errors.Is(err, errNotRBAC) || apierrors.IsAlreadyExists(err) {
			continue
		}
		if err != nil {
			t.Fatalf("create %s %s: %v", obj.GetKind(), obj.GetName(), err)
		}
		created = append(created, obj)
	}
}

var errNotRBAC = errors.New("not an RBAC object")

// createObject creates obj through the typed client of its kind.
func createObject(ctx context.Context, obj *unstructured.Unstructured) error {
	core, rbac := cluster.Client.CoreV1(), cluster.Client.RbacV1()
	opts := metav1.CreateOptions{}
	var err error
	switch obj.GetKind() {
	case "ServiceAccount":
		var o corev1.ServiceAccount
		if err = fromUnstructured(obj, &o); err == nil {
			_, err = core.ServiceAccounts(o.Namespace).Create(ctx, &o, opts)
		}
	case "ClusterRole":
		var o rbacv1.ClusterRole
		if err = fromUnstructured(obj, &o); err == nil {
			_, err = rbac.ClusterRoles().Create(ctx, &o, opts)
		}
	case "ClusterRoleBinding":
		var o rbacv1.ClusterRoleBinding
		if err = fromUnstructured(obj, &o); err == nil {
			_, err = rbac.ClusterRoleBindings().Create(ctx, &o, opts)
		}
	case "Role":
		var o rbacv1.Role
		if err = fromUnstructured(obj, &o); err == nil {
			_, err = rbac.Roles(o.Namespace).Create(ctx, &o, opts)
		}
	case "RoleBinding":
		var o rbacv1.RoleBinding
		if err = fromUnstructured(obj, &o); err == nil {
			_, err = rbac.RoleBindings(o.Namespace).Create(ctx, &o, opts)
		}
	default:
		return errNotRBAC
	}
	return err
}

func deleteObject(ctx context.Context, obj *unstructured.Unstructured) error {
	core, rbac := cluster.Client.CoreV1(), cluster.Client.RbacV1()
	opts := metav1.DeleteOptions{}
	ns, name := obj.GetNamespace(), obj.GetName()
	switch obj.GetKind() {
	case "ServiceAccount":
		return core.ServiceAccounts(ns).Delete(ctx, name, opts)
	case "ClusterRole":
		return rbac.ClusterRoles().Delete(ctx, name, opts)
	case "ClusterRoleBinding":
		return rbac.ClusterRoleBindings().Delete(ctx, name, opts)
	case "Role":
		return rbac.Roles(ns).Delete(ctx, name, opts)
	case "RoleBinding":
		return rbac.RoleBindings(ns).Delete(ctx, name, opts)
	}
	return errNotRBAC
}

func fromUnstructured(obj *unstructured.Unstructured, out any) error {
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(obj.Object, out); err != nil {
		return fmt.Errorf("convert %s %s: %w", obj.GetKind(), obj.GetName(), err)
	}
	return nil
}
