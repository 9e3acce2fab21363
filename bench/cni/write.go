package main

import (
	"fmt"

	"github.com/contrail-vif/contrail-vif/bench/internal/stats"
)

// result is the content of cni.json.
type result struct {
	Benchmark string                   `json:"benchmark"`
	Machine   stats.Machine            `json:"machine"`
	Setup     map[string]any           `json:"setup"`
	Timings   map[string]stats.Summary `json:"timings"`
	// Figures are the summary keys this benchmark produces.
	Figures map[string]float64 `json:"figures"`
}

// write summarizes the samples into cni.json and writes them raw to
// cni-samples.csv.
func (b *bench) write() error {
	r := result{
		Benchmark: "cni",
		Machine:   stats.DescribeMachine(),
		Setup: map[string]any{
			"rounds":             b.cfg.rounds,
			"warmupRounds":       b.cfg.warmup,
			"rssRounds":          b.cfg.rssRounds,
			"rss":                "peak RSS (ru_maxrss) read through bench/cni/rsswrap; bridge's figure includes host-local, which it execs",
			"contrailVIF":        b.cfg.contrailVIF,
			"referencePlugins":   "containernetworking/plugins " + b.cfg.refVersion + " bridge + host-local, built by bench/build-refplugins.sh",
			"simulatorDataPlane": b.cfg.dataPlane,
			"floor":              "exec of bench/cni/trivial (a static Go binary that reads stdin and prints an empty result) plus the in-process netlink steps of a veth plugin: veth pair created with its ends in place, address, link up, route, host end up",
			"floorClassic":       "the same exec plus the classic sequence: veth pair in the host namespace, move, rename, address, link up, route, host end up",
		},
		Timings: map[string]stats.Summary{},
		Figures: map[string]float64{},
	}
	for series, samples := range b.samples {
		unit := "ms"
		if series == bridgeAddRSS || series == vifAddRSS || series == trivialRSS {
			unit = "MiB"
		}
		s, err := stats.Summarize(samples, unit)
		if err != nil {
			return fmt.Errorf("series %s: %w", series, err)
		}
		r.Timings[series] = s
	}
	for _, series := range []string{bridgeAdd, bridgeDel, vifAdd, vifDel, floorTotal, classicTotal, vifAddRSS} {
		if _, ok := r.Timings[series]; !ok {
			return fmt.Errorf("series %s has no samples", series)
		}
	}

	t := r.Timings
	r.Figures["cni_add_p50_ratio_vs_bridge"] = stats.Ratio(t[vifAdd].P50, t[bridgeAdd].P50)
	r.Figures["cni_add_p99_ratio_vs_bridge"] = stats.Ratio(t[vifAdd].P99, t[bridgeAdd].P99)
	r.Figures["cni_del_p50_ratio_vs_bridge"] = stats.Ratio(t[vifDel].P50, t[bridgeDel].P50)
	r.Figures["cni_del_p99_ratio_vs_bridge"] = stats.Ratio(t[vifDel].P99, t[bridgeDel].P99)
	r.Figures["cni_add_p50_ratio_vs_floor"] = stats.Ratio(t[vifAdd].P50, t[floorTotal].P50)
	r.Figures["cni_add_p50_ratio_vs_floor_classic"] = stats.Ratio(t[vifAdd].P50, t[classicTotal].P50)
	r.Figures["cni_binary_rss_mb"] = stats.Round(t[vifAddRSS].Max, 1)
	r.Figures["cni_add_p50_ms"] = stats.Round(t[vifAdd].P50, 2)
	r.Figures["cni_del_p50_ms"] = stats.Round(t[vifDel].P50, 2)
	r.Figures["bridge_add_p50_ms"] = stats.Round(t[bridgeAdd].P50, 2)
	r.Figures["bridge_del_p50_ms"] = stats.Round(t[bridgeDel].P50, 2)
	r.Figures["floor_add_p50_ms"] = stats.Round(t[floorTotal].P50, 2)

	if err := stats.WriteJSON(b.cfg.out, "cni.json", r); err != nil {
		return err
	}
	return b.raw.Write(b.cfg.out, "cni-samples.csv")
}
