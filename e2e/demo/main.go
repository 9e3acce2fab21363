// Command demo prints what the contrail-vif demo set up: every example pod
// with its interfaces and addresses, and the result of each connectivity
// check between them. e2e/run.sh runs it after the pods start.
package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/contrail-vif/contrail-vif/e2e/framework"
)

type check struct {
	from, to, target string
	want             bool
	why              string
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func run() error {
	root, err := filepath.Abs(".")
	if err != nil {
		return err
	}
	env, err := framework.LoadEnv(root)
	if err != nil {
		return err
	}
	cluster, err := framework.Connect(env)
	if err != nil {
		return err
	}
	ctx := context.Background()

	pods := []struct{ name, network string }{
		{"red-1", "default/red"}, {"red-2", "default/red"}, {"blue-1", "default/blue"},
	}
	netns := map[string]string{}
	addr := map[string]string{}
	table := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(table, "POD\tNETWORK\tINTERFACE\tADDRESS\tMAC\tETH0")
	for _, p := range pods {
		pod, err := cluster.WaitPodRunning(ctx, "default", p.name, 2*time.Minute)
		if err != nil {
			events, _ := cluster.PodEvents(ctx, pod)
			return fmt.Errorf("%w; events: %s", err, strings.Join(events, " | "))
		}
		statuses, err := framework.NetworkStatus(pod)
		if err != nil {
			return err
		}
		st, ok := framework.FindStatus(statuses, p.network)
		if !ok || len(st.IPs) == 0 {
			return fmt.Errorf("pod %s has no network-status entry %s", p.name, p.network)
		}
		eth0 := ""
		for _, s := range statuses {
			if s.Default && len(s.IPs) > 0 {
				eth0 = s.IPs[0]
			}
		}
		path, err := framework.PodNetnsPath(string(pod.UID))
		if err != nil {
			return err
		}
		netns[p.name] = path
		addr[p.name] = st.IPs[0]
		fmt.Fprintf(table, "%s\t%s\t%s\t%s\t%s\t%s\n", p.name, p.network, st.Interface, st.IPs[0], st.Mac, eth0)
	}
	table.Flush()

	// Route blue's subnet through red's gateway in red-1, so that the
	// isolation check really enters the red VN instead of eth0.
	if _, err := framework.RunInNetns(ctx, netns["red-1"], "ip", "route", "replace", "10.10.2.0/24", "via", "10.10.1.254", "dev", "net1"); err != nil {
		return err
	}
	checks := []check{
		{"red-1", "red-2", addr["red-2"], true, "same VN"},
		{"red-2", "red-1", addr["red-1"], true, "same VN"},
		{"red-1", "red gateway", "10.10.1.254", true, "VN gateway"},
		{"red-1", "blue-1", addr["blue-1"], false, "different VNs are isolated"},
	}
	fmt.Println()
	failed := 0
	for _, c := range checks {
		ok, _ := framework.Ping(ctx, netns[c.from], c.target)
		verdict := "as expected"
		if ok != c.want {
			verdict = "UNEXPECTED"
			failed++
		}
		result := "no reply"
		if ok {
			result = "reply"
		}
		fmt.Printf("ping %-6s -> %-11s %-12s %-9s %s (%s)\n", c.from, c.to, c.target, result, verdict, c.why)
	}
	if failed > 0 {
		return fmt.Errorf("%d connectivity checks gave unexpected results", failed)
	}
	return nil
}
