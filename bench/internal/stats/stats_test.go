package stats

import (
	"math"
	"testing"
)

func TestPercentileNearestRank(t *testing.T) {
	sorted := make([]float64, 200)
	for i := range sorted {
		sorted[i] = float64(i + 1)
	}
	cases := []struct {
		p    float64
		want float64
	}{
		{50, 100},
		{90, 180},
		{99, 198},
		{100, 200},
		{0, 1},
	}
	for _, c := range cases {
		if got := Percentile(sorted, c.p); got != c.want {
			t.Errorf("Percentile(1..200, %g) = %g, want %g", c.p, got, c.want)
		}
	}
	if got := Percentile([]float64{7}, 99); got != 7 {
		t.Errorf("Percentile of one sample = %g, want 7", got)
	}
}

func TestSummarizeUnsortedSamples(t *testing.T) {
	s, err := Summarize([]float64{5, 1, 4, 2, 3}, "ms")
	if err != nil {
		t.Fatal(err)
	}
	if s.Count != 5 || s.Min != 1 || s.Max != 5 || s.P50 != 3 || s.Mean != 3 || s.Unit != "ms" {
		t.Errorf("Summarize = %+v, want count 5, min 1, max 5, p50 3, mean 3, unit ms", s)
	}
}

func TestSummarizeRejectsNoSamples(t *testing.T) {
	if _, err := Summarize(nil, "ms"); err == nil {
		t.Error("Summarize(nil) returned no error; an empty series is a broken measurement")
	}
}

func TestRatioOfZeroIsNaN(t *testing.T) {
	if got := Ratio(1, 0); !math.IsNaN(got) {
		t.Errorf("Ratio(1, 0) = %g, want NaN", got)
	}
	if got := Ratio(2, 3); got != 0.667 {
		t.Errorf("Ratio(2, 3) = %g, want 0.667", got)
	}
}
