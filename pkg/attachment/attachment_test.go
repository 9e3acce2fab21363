package attachment

import (
	"testing"
)

func TestUUIDsAreDeterministicAndDistinct(t *testing.T) {
	pod := "5b2a7f1c-1111-2222-3333-444455556666"
	if VMIUUID(pod, "net1") != VMIUUID(pod, "net1") {
		t.Fatal("VMIUUID is not deterministic")
	}
	seen := map[string]string{}
	for _, id := range []struct{ name, uuid string }{
		{"vmi net1", VMIUUID(pod, "net1")},
		{"vmi net2", VMIUUID(pod, "net2")},
		{"iip net1", InstanceIPUUID(pod, "net1")},
		{"vmi other pod", VMIUUID("5b2a7f1c-1111-2222-3333-444455556667", "net1")},
	} {
		if prev, ok := seen[id.uuid]; ok {
			t.Errorf("%s and %s share uuid %s", prev, id.name, id.uuid)
		}
		seen[id.uuid] = id.name
	}
}

func TestTapNameFitsInterfaceNameLimit(t *testing.T) {
	name := TapName(VMIUUID("5b2a7f1c-1111-2222-3333-444455556666", "net1"))
	if len(name) != 14 || name[:3] != "tap" {
		t.Errorf("TapName = %q, want tap and 11 characters", name)
	}
}

func TestParseAgentAnnotations(t *testing.T) {
	got := ParseAgentAnnotations([]string{"{interface:net1}", "{ip:fd00::1}", "{broken", "{novalue}"})
	if got["interface"] != "net1" {
		t.Errorf("interface = %q, want net1", got["interface"])
	}
	if got["ip"] != "fd00::1" {
		t.Errorf("a value with ':' = %q, want fd00::1", got["ip"])
	}
	if len(got) != 2 {
		t.Errorf("parsed %d entries, want 2: %v", len(got), got)
	}
}

func TestVMNameAndIndex(t *testing.T) {
	if got := VMName("k8s", "default", "web.a"); got != "k8s__default__web.a" {
		t.Errorf("VMName = %q", got)
	}
	if got := FormatIndex(1, 3); got != "1/3" {
		t.Errorf("FormatIndex = %q", got)
	}
}
