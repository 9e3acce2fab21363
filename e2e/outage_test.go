//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/contrail-vif/contrail-vif/e2e/framework"
)

// TestConfigAPIOutageRecovers creates pods while the config API returns
// 503 for every request, and checks that they start on their own once it
// is back, without any user action.
func TestConfigAPIOutageRecovers(t *testing.T) {
	ctx := context.Background()
	const namespace = "outage"
	if _, err := cluster.Kubectl(ctx, "apply", "-f", examplePath("nad-red.yaml")); err != nil {
		t.Fatal(err)
	}
	createNamespace(t, namespace)
	if err := framework.SetConfigAPIFaults(ctx, cluster.Env, `{"unavailable":true}`); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = framework.SetConfigAPIFaults(context.Background(), cluster.Env, `{}`)
		deletePodsIn(t, namespace)
	})

	names := []string{"outage-0", "outage-1", "outage-2"}
	for _, name := range names {
		if _, err := cluster.Client.CoreV1().Pods(namespace).Create(ctx, busyboxPod(namespace, name, "default/red"), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}

	// While the outage lasts, the controller reports it on the pods.
	time.Sleep(8 * time.Second)
	pod, err := cluster.Client.CoreV1().Pods(namespace).Get(ctx, names[0], metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	events, _ := cluster.PodEvents(ctx, pod)
	if !strings.Contains(strings.Join(events, "\n"), "503") {
		t.Errorf("no Event on %s mentions the config API's 503; events: %s", names[0], strings.Join(events, " | "))
	}

	if err := framework.SetConfigAPIFaults(ctx, cluster.Env, `{}`); err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		p, err := cluster.WaitPodRunning(ctx, namespace, name, 3*time.Minute)
		if err != nil {
			events, _ := cluster.PodEvents(ctx, p)
			t.Fatal(fmt.Errorf("%w; events: %s", err, strings.Join(events, " | ")))
		}
	}
}
