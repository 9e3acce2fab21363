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
	fmt.Println("\nVN red 10.10.1.0/24: gateway 10.10.1.254, DNS 10.10.1.253. VN blue 10.10.2.0/24: gateway 10.10.2.254, DNS 10.10.2.253.")
	fmt.Println("Contrail allocates pod addresses from the top of the subnet down.")

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
	fmt.Println("\nFor the isolation check, red-1 gets the route 10.10.2.0/24 via 10.10.1.254 dev net1, so that")
	fmt.Println("its ping to blue enters the red VN; without it the packet would follow eth0's default route.")
	fmt.Println()
	failed := 0
	for _, c := range checks {
		ok, out := framework.Ping(ctx, netns[c.from], c.target)
		verdict := "as expected"
		if ok != c.want {
			verdict = "UNEXPECTED"
			failed++
		}
		result := "no reply"
		if ok {
			result = "reply"
		}
		if !ok {
			// ping prints the ICMP error, such as "Destination Net
			// Unreachable" from the VN gateway.
			for _, line := range strings.Split(out, "\n") {
				if strings.HasPrefix(line, "From ") {
					result = strings.TrimSpace(line)
					break
				}
			}
		}
		fmt.Printf("ping %-6s -> %-11s %-12s %s: %s (%s)\n", c.from, c.to, c.target, verdict, result, c.why)
	}
	if failed > 0 {
		return fmt.Errorf("%d connectivity checks gave unexpected results", failed)
	}
	return nil
}
