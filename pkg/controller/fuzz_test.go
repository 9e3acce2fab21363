package controller

import (
	"strings"
	"testing"

	nadv1 "github.com/k8snetworkplumbingwg/network-attachment-definition-client/pkg/apis/k8s.cni.cncf.io/v1"
	multustypes "gopkg.in/k8snetworkplumbingwg/multus-cni.v4/pkg/types"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/contrail-vif/contrail-vif/pkg/netconf"
)

// FuzzPodNetworks parses arbitrary network selection annotations the way
// the controller does, with podNetworks over Multus's parser, and checks
// that every element it returns gets a namespace and an interface name.
func FuzzPodNetworks(f *testing.F) {
	for _, seed := range []string{
		"blue",
		"blue,other/red@eth1",
		" default/blue@net5 , green ",
		`[{"name":"blue","interface":"net9","ips":["10.1.1.11/24"],"mac":"02:00:00:00:00:01"}]`,
		`[{"name":"blue","namespace":"other","interfaceRequest":"old1"},{"name":"blue"}]`,
		`[{"name":"blue","ips":["10.1.1.300"]}]`,
		`[{"name":"blue","mac":"zz"}]`,
		`[{}]`,
		`[null]`,
		`{"name":"blue"}`,
		"a/b/c",
		"x@y@z",
		"Blue",
		"blue@" + strings.Repeat("n", 16),
		"",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, annotation string) {
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{
			Namespace: "default", Name: "web",
			Annotations: map[string]string{podNetworksAnnotation: annotation},
		}}
		if hasNetworks(pod) != (annotation != "") {
			t.Fatalf("hasNetworks = %v for annotation %q", hasNetworks(pod), annotation)
		}
		elems, err := parsePodNetworks(t, pod)
		if err != nil {
			return
		}
		for i, elem := range elems {
			if elem == nil {
				t.Fatalf("element %d of %q is nil", i, annotation)
			}
			if elem.Namespace == "" {
				t.Fatalf("element %d of %q has no namespace", i, annotation)
			}
			if interfaceName(elem, i) == "" {
				t.Fatalf("element %d of %q has no interface name", i, annotation)
			}
		}
	})
}

// parsePodNetworks calls podNetworks and turns a panic into a test failure.
func parsePodNetworks(t *testing.T, pod *corev1.Pod) (elems []*multustypes.NetworkSelectionElement, err error) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Fatalf("podNetworks panics on annotation %q: %v", pod.Annotations[podNetworksAnnotation], r)
		}
	}()
	return podNetworks(pod)
}

// FuzzContrailConfig checks that contrailConfig never panics on a NAD's
// spec.config, returns a valid contrail-vif config whenever it reports the
// NAD as its own without error, and returns no config otherwise.
func FuzzContrailConfig(f *testing.F) {
	for _, seed := range []string{
		`{"cniVersion":"1.0.0","name":"blue","type":"contrail-vif","virtualNetwork":"default-domain:demo:blue"}`,
		`{"cniVersion":"1.0.0","name":"blue","plugins":[{"type":"contrail-vif","virtualNetwork":"d:p:blue"},{"type":"tuning"}]}`,
		`{"cniVersion":"1.0.0","name":"m","type":"contrail-vif","virtualNetwork":"d:p:m","subnets":[{"cidr":"10.10.3.0/24"}]}`,
		`{"cniVersion":"1.0.0","name":"blue","plugins":[1,null,{"type":"contrail-vif"}]}`,
		`{"cniVersion":"1.0.0","name":"br","type":"bridge"}`,
		`{"type":"contrail-vif","virtualNetwork":"a:b"}`,
		`{"type":5}`,
		`{"plugins":{}}`,
		`[]`,
		`not json`,
		"",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, config string) {
		nad := &nadv1.NetworkAttachmentDefinition{
			ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "blue"},
			Spec:       nadv1.NetworkAttachmentDefinitionSpec{Config: config},
		}
		conf, ours, err := contrailConfig(nad)
		if !ours || err != nil {
			if conf != nil {
				t.Fatalf("contrailConfig returned a config with ours=%v, err=%v", ours, err)
			}
			return
		}
		if conf == nil || conf.Type != netconf.PluginType {
			t.Fatalf("contrailConfig accepted %q as %+v", config, conf)
		}
		// The reconciler relies on Parse having checked the fq-name.
		if fq := mustFQName(conf.VirtualNetwork); len(fq) != 3 {
			t.Fatalf("fq-name %q has %d parts", conf.VirtualNetwork, len(fq))
		}
	})
}
