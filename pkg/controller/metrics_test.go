package controller

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"k8s.io/apimachinery/pkg/types"
)

func TestMetricsCountRequestsAndStates(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	m.ObserveConfigAPI("create", 200, 3*time.Millisecond)
	m.ObserveConfigAPI("create", 503, time.Millisecond)
	if got := testutil.ToFloat64(m.configAPIRequests.WithLabelValues("create", "503")); got != 1 {
		t.Errorf("create 503 count = %v, want 1", got)
	}

	r := &Reconciler{Metrics: m}
	r.setAttachmentStates(types.UID("a"), []string{AttachmentConfigured, AttachmentFailed})
	r.setAttachmentStates(types.UID("b"), []string{AttachmentConfigured})
	r.setAttachmentStates(types.UID("a"), []string{AttachmentConfigured, AttachmentConfigured})
	r.setAttachmentStates(types.UID("b"), nil)
	want := `
# HELP contrail_vif_attachments Pod attachments by state (Configured, Pending, Failed).
# TYPE contrail_vif_attachments gauge
contrail_vif_attachments{state="Configured"} 2
contrail_vif_attachments{state="Failed"} 0
`
	if err := testutil.CollectAndCompare(m.attachments, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
}
