// Command summarize merges the result files of the benchmarks into
// summary.json: every figure as a top-level number, each goal with whether
// the figure meets it, the machine, and the timing summaries. It also
// writes summary.md, the table that docs/benchmarks.md records.
//
// It fails when a result file is unreadable, and when a figure with a goal
// is missing unless -allow-missing is set. It never fails on a missed goal.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/contrail-vif/contrail-vif/bench/internal/stats"
)

// goal is the target of one summary key.
type goal struct {
	key string
	// atMost is true for an upper bound, false for a lower bound.
	atMost  bool
	limit   float64
	meaning string
}

// goals lists the summary keys that `make bench` must produce.
var goals = []goal{
	{"cni_add_p50_ratio_vs_bridge", true, 1.0, "contrail-vif ADD p50 / bridge+host-local ADD p50"},
	{"cni_add_p99_ratio_vs_bridge", true, 1.2, "contrail-vif ADD p99 / bridge+host-local ADD p99"},
	{"cni_del_p50_ratio_vs_bridge", true, 1.0, "contrail-vif DEL p50 / bridge+host-local DEL p50"},
	{"cni_add_p50_ratio_vs_floor", true, 2.0, "contrail-vif ADD p50 / floor p50 (netlink steps + exec of a trivial binary)"},
	{"pod_ready_p50_ratio_vs_bridge_nad", true, 1.2, "pod create to network-status, contrail-vif NAD / bridge NAD, p50"},
	{"pod_ready_p99_ratio_vs_bridge_nad", true, 1.3, "the same at p99"},
	{"controller_attachments_per_s", false, 200, "attachments completed per second, 5,000 pods"},
	{"config_api_writes_per_attachment", true, 4, "config API writes per attachment, warm caches"},
	{"config_api_reads_per_attachment", true, 0, "config API reads per attachment, warm caches"},
	{"controller_rss_mb_5k_pods", true, 150, "controller peak RSS (MiB), 5,000 pods and 100 NADs"},
	{"cni_binary_rss_mb", true, 25, "peak RSS (MiB) of one contrail-vif ADD"},
	{"agent_config_to_add_ms_p50", true, 100, "VMI reaches the agent after ADD started: ms until ADD returns, p50"},
}

// resultFile is the part of a benchmark result that summarize reads.
type resultFile struct {
	Benchmark string                   `json:"benchmark"`
	Machine   stats.Machine            `json:"machine"`
	Timings   map[string]stats.Summary `json:"timings"`
	Figures   map[string]float64       `json:"figures"`
}

func main() {
	dir := flag.String("dir", "bench/results", "results `directory`")
	allowMissing := flag.Bool("allow-missing", false, "write the summary even when a figure with a goal is missing")
	flag.Parse()
	if err := run(*dir, *allowMissing); err != nil {
		fmt.Fprintln(os.Stderr, "bench/summarize:", err)
		os.Exit(1)
	}
}

func run(dir string, allowMissing bool) error {
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return err
	}
	summary := map[string]any{}
	figures := map[string]float64{}
	timings := map[string]map[string]stats.Summary{}
	var machine *stats.Machine
	for _, f := range files {
		if filepath.Base(f) == "summary.json" {
			continue
		}
		data, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		var r resultFile
		if err := json.Unmarshal(data, &r); err != nil {
			return fmt.Errorf("decode %s: %w", f, err)
		}
		for k, v := range r.Figures {
			figures[k] = v
		}
		name := r.Benchmark
		if name == "" {
			name = strings.TrimSuffix(filepath.Base(f), ".json")
		}
		if len(r.Timings) > 0 {
			timings[name] = r.Timings
		}
		if machine == nil {
			machine = &r.Machine
		}
	}

	var missing []string
	goalReport := map[string]any{}
	for _, g := range goals {
		v, ok := figures[g.key]
		if !ok || math.IsNaN(v) {
			missing = append(missing, g.key)
			continue
		}
		met := v <= g.limit
		if !g.atMost {
			met = v >= g.limit
		}
		goalReport[g.key] = map[string]any{"goal": g.text(), "met": met, "meaning": g.meaning}
	}
	for k, v := range figures {
		summary[k] = v
	}
	summary["goals"] = goalReport
	summary["timings"] = timings
	if machine != nil {
		summary["machine"] = machine
	}
	if len(missing) > 0 {
		summary["missing"] = missing
	}
	if err := stats.WriteJSON(dir, "summary.json", summary); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "summary.md"), []byte(markdown(figures, machine)), 0o644); err != nil {
		return err
	}
	fmt.Print(markdown(figures, machine))
	if len(missing) > 0 && !allowMissing {
		return fmt.Errorf("missing figures: %s", strings.Join(missing, ", "))
	}
	return nil
}

func (g goal) text() string {
	if g.atMost {
		return fmt.Sprintf("<= %g", g.limit)
	}
	return fmt.Sprintf(">= %g", g.limit)
}

// markdown returns the goal table and the other figures.
func markdown(figures map[string]float64, m *stats.Machine) string {
	var b strings.Builder
	if m != nil {
		fmt.Fprintf(&b, "Machine: %s, %d CPUs, %d MiB, kernel %s, %s, %s, commit %s, %s\n\n",
			m.CPUModel, m.CPUs, m.MemoryMiB, m.Kernel, m.OS, m.GoVersion, m.Commit, m.Date)
	}
	b.WriteString("| key | measured | goal | met |\n| --- | --- | --- | --- |\n")
	inGoals := map[string]bool{}
	for _, g := range goals {
		inGoals[g.key] = true
		v, ok := figures[g.key]
		if !ok {
			fmt.Fprintf(&b, "| `%s` | not measured | %s | |\n", g.key, g.text())
			continue
		}
		met := v <= g.limit
		if !g.atMost {
			met = v >= g.limit
		}
		fmt.Fprintf(&b, "| `%s` | %g | %s | %s |\n", g.key, v, g.text(), yesNo(met))
	}
	var others []string
	for k := range figures {
		if !inGoals[k] {
			others = append(others, k)
		}
	}
	slices.Sort(others)
	if len(others) > 0 {
		b.WriteString("\nOther figures:\n\n| key | measured |\n| --- | --- |\n")
		for _, k := range others {
			fmt.Fprintf(&b, "| `%s` | %g |\n", k, figures[k])
		}
	}
	return b.String()
}

func yesNo(ok bool) string {
	if ok {
		return "yes"
	}
	return "**no**"
}
