package simfixture

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/contrail-vif/contrail-vif/pkg/agentclient"
	"github.com/contrail-vif/contrail-vif/pkg/attachment"
)

func TestAttachmentReachesAgentOnlyAfterLink(t *testing.T) {
	fix, err := Start(Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := fix.Close(); err != nil {
			t.Error(err)
		}
	})
	ctx := context.Background()
	agent := agentclient.New(fix.AgentURL(), 5*time.Second)
	att := NewAttachment("web", "net1")

	if err := fix.CreateConfig(ctx, att); err != nil {
		t.Fatal(err)
	}
	if entries, err := agent.VMConfig(ctx, att.VMName); err == nil && len(entries) > 0 {
		t.Fatalf("agent lists %v before the virtual-router ref exists; the late-config benchmark would start its clock too late", entries)
	}

	if err := fix.Link(ctx, att); err != nil {
		t.Fatal(err)
	}
	entries, err := agent.VMConfig(ctx, att.VMName)
	if err != nil {
		t.Fatalf("VMConfig(%s) after Link: %v", att.VMName, err)
	}
	if len(entries) != 1 || entries[0].ID != att.VMIUUID || entries[0].VMUUID != att.PodUID {
		t.Fatalf("VMConfig(%s) = %+v, want the one VMI %s of VM %s", att.VMName, entries, att.VMIUUID, att.PodUID)
	}
	if got := attachment.ParseAgentAnnotations(entries[0].Annotations)[attachment.KeyInterface]; got != "net1" {
		t.Errorf("interface annotation = %q, want net1, which the plugin matches on", got)
	}

	if err := fix.DeleteConfig(ctx, att); err != nil {
		t.Fatal(err)
	}
	if _, err := agent.VMConfig(ctx, att.VMName); err == nil {
		t.Error("agent still lists the VM after DeleteConfig")
	} else if errors.Is(err, agentclient.ErrUnreachable) {
		t.Errorf("agent unreachable: %v", err)
	}
}
