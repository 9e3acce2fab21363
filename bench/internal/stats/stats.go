// Package stats summarizes benchmark samples and writes them to the results
// directory: raw samples as CSV, summaries as JSON.
package stats

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
)

// Summary describes one series of samples. Percentiles use the nearest-rank
// method: P99 of 200 samples is the second largest.
type Summary struct {
	Count int     `json:"count"`
	Min   float64 `json:"min"`
	P50   float64 `json:"p50"`
	P90   float64 `json:"p90"`
	P99   float64 `json:"p99"`
	Max   float64 `json:"max"`
	Mean  float64 `json:"mean"`
	// Unit is the unit of every value above, such as "ms" or "MiB".
	Unit string `json:"unit"`
}

// Summarize returns the summary of samples in unit. It returns an error for
// an empty series, because a benchmark without samples is broken.
func Summarize(samples []float64, unit string) (Summary, error) {
	if len(samples) == 0 {
		return Summary{}, fmt.Errorf("no samples")
	}
	sorted := slices.Clone(samples)
	slices.Sort(sorted)
	sum := 0.0
	for _, v := range sorted {
		sum += v
	}
	return Summary{
		Count: len(sorted),
		Min:   sorted[0],
		P50:   Percentile(sorted, 50),
		P90:   Percentile(sorted, 90),
		P99:   Percentile(sorted, 99),
		Max:   sorted[len(sorted)-1],
		Mean:  sum / float64(len(sorted)),
		Unit:  unit,
	}, nil
}

// Percentile returns the nearest-rank p-th percentile of sorted, which must
// be sorted in increasing order and not empty.
func Percentile(sorted []float64, p float64) float64 {
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	rank = min(max(rank, 1), len(sorted))
	return sorted[rank-1]
}

// Ratio returns a/b rounded to three decimals.
func Ratio(a, b float64) float64 {
	if b == 0 {
		return math.NaN()
	}
	return Round(a/b, 3)
}

// Round rounds v to the given number of decimals.
func Round(v float64, decimals int) float64 {
	scale := math.Pow(10, float64(decimals))
	return math.Round(v*scale) / scale
}

// Millis converts nanoseconds to milliseconds.
func Millis(ns int64) float64 {
	return float64(ns) / 1e6
}

// WriteJSON writes v, indented, to dir/name.
func WriteJSON(dir, name string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encode %s: %w", name, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, name), append(data, '\n'), 0o644)
}

// Table is a CSV file of raw samples.
type Table struct {
	Header []string
	Rows   [][]string
}

// Add appends one row. Floats are written with three decimals.
func (t *Table) Add(values ...any) {
	row := make([]string, len(values))
	for i, v := range values {
		switch x := v.(type) {
		case float64:
			row[i] = strconv.FormatFloat(x, 'f', 3, 64)
		case string:
			row[i] = x
		default:
			row[i] = fmt.Sprint(x)
		}
	}
	t.Rows = append(t.Rows, row)
}

// Write writes the table to dir/name.
func (t *Table) Write(dir, name string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.Create(filepath.Join(dir, name))
	if err != nil {
		return err
	}
	w := csv.NewWriter(f)
	if err := w.Write(t.Header); err != nil {
		_ = f.Close()
		return err
	}
	if err := w.WriteAll(t.Rows); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}
