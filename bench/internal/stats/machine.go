package stats

import (
	"bufio"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"
)

// Machine describes where a benchmark ran, so that a recorded figure can be
// traced to its hardware and build.
type Machine struct {
	CPUModel  string `json:"cpuModel"`
	CPUs      int    `json:"cpus"`
	MemoryMiB int    `json:"memoryMiB"`
	Kernel    string `json:"kernel"`
	OS        string `json:"os"`
	GoVersion string `json:"goVersion"`
	// LoadAverage is /proc/loadavg when the benchmark started writing its
	// result: other work on the machine skews the timings.
	LoadAverage string `json:"loadAverage"`
	// Commit is the repository's HEAD, with "+dirty" when the work tree
	// has changes; empty outside a git work tree.
	Commit string `json:"commit"`
	Date   string `json:"date"`
}

// DescribeMachine reads the machine description from /proc, /etc/os-release
// and git. Fields it cannot read stay empty.
func DescribeMachine() Machine {
	m := Machine{
		CPUs:      runtime.NumCPU(),
		GoVersion: runtime.Version(),
		Date:      time.Now().UTC().Format(time.RFC3339),
	}
	m.CPUModel = procField("/proc/cpuinfo", "model name", ":")
	if mem := procField("/proc/meminfo", "MemTotal", ":"); mem != "" {
		var kib int
		for _, r := range mem {
			if r >= '0' && r <= '9' {
				kib = kib*10 + int(r-'0')
			}
		}
		m.MemoryMiB = kib / 1024
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		m.LoadAverage = strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	m.OS = strings.Trim(procField("/etc/os-release", "PRETTY_NAME", "="), `"`)
	if out, err := exec.Command("git", "rev-parse", "--short=12", "HEAD").Output(); err == nil {
		m.Commit = strings.TrimSpace(string(out))
		if status, err := exec.Command("git", "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(status) > 0 {
			m.Commit += "+dirty"
		}
	}
	return m
}

// procField returns the value of the first line of path whose key, before
// sep, is key.
func procField(path, key, sep string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), sep)
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return ""
}
