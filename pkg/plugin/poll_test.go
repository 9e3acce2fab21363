package plugin

import (
	"context"
	"testing"
	"time"
)

// pollGaps runs poll with p for d and returns the pauses between attempts.
func pollGaps(t *testing.T, p *Plugin, d time.Duration) []time.Duration {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var attempts []time.Time
	err := p.poll(ctx, func(context.Context) (bool, error) {
		attempts = append(attempts, time.Now())
		return false, nil
	})
	if err == nil {
		t.Fatal("poll returned nil after its context ended; expected a timeout")
	}
	gaps := make([]time.Duration, 0, len(attempts))
	for i := 1; i < len(attempts); i++ {
		gaps = append(gaps, attempts[i].Sub(attempts[i-1]))
	}
	return gaps
}

func TestPollFastWindowThenBackoff(t *testing.T) {
	p := &Plugin{PollInterval: 5 * time.Millisecond, FastPollWindow: 100 * time.Millisecond, MaxPollInterval: 80 * time.Millisecond}
	gaps := pollGaps(t, p, 600*time.Millisecond)

	// During the window every pause is PollInterval, so it holds many
	// attempts; a doubling pause would fit only five (5+10+20+40+80 ms).
	var inWindow int
	var elapsed time.Duration
	for _, g := range gaps {
		elapsed += g
		if elapsed > p.FastPollWindow {
			break
		}
		inWindow++
	}
	if inWindow < 8 {
		t.Errorf("%d attempts in the %s fast window with %s pauses; want at least 8 (gaps %v)", inWindow, p.FastPollWindow, p.PollInterval, gaps)
	}

	// After the window the pauses grow to MaxPollInterval.
	longest := time.Duration(0)
	for _, g := range gaps {
		longest = max(longest, g)
	}
	if longest < p.MaxPollInterval {
		t.Errorf("longest pause %s; want the backoff to reach MaxPollInterval %s (gaps %v)", longest, p.MaxPollInterval, gaps)
	}
}

func TestPollNoFastWindowBacksOffAtOnce(t *testing.T) {
	p := &Plugin{PollInterval: 5 * time.Millisecond, MaxPollInterval: 80 * time.Millisecond}
	gaps := pollGaps(t, p, 300*time.Millisecond)
	if len(gaps) < 4 {
		t.Fatalf("%d pauses in 300ms; want at least 4 (gaps %v)", len(gaps), gaps)
	}
	// The fourth pause is 40 ms when each pause doubles from 5 ms.
	if gaps[3] < 30*time.Millisecond {
		t.Errorf("fourth pause %s; want about 40ms, doubling from %s (gaps %v)", gaps[3], p.PollInterval, gaps)
	}
}
