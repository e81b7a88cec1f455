package main

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"time"
)

// clockTick is the unit of utime and stime in /proc/PID/stat. It is
// sysconf(_SC_CLK_TCK), which is 100 on every Linux that Go supports; the
// standard library offers no way to ask without cgo.
const clockTick = 10 * time.Millisecond

// procSample is a server process's resource use at one moment.
type procSample struct {
	at    time.Time
	cpu   time.Duration // user + system time so far
	rssKB int64
}

// sampleProc reads /proc/PID/stat and /proc/PID/status.
func sampleProc(pid int) (procSample, error) {
	s := procSample{at: time.Now()}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return s, err
	}
	// The command name (field 2) may hold spaces and parentheses, so
	// count fields from the last ')': utime and stime are fields 14 and
	// 15, which are the 12th and 13th after it.
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return s, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	f := bytes.Fields(stat[i+1:])
	if len(f) < 13 {
		return s, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	utime, err1 := strconv.ParseInt(string(f[11]), 10, 64)
	stime, err2 := strconv.ParseInt(string(f[12]), 10, 64)
	if err1 != nil || err2 != nil {
		return s, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	s.cpu = time.Duration(utime+stime) * clockTick

	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return s, err
	}
	for line := range bytes.Lines(status) {
		if v, ok := bytes.CutPrefix(line, []byte("VmRSS:")); ok {
			// "VmRSS:	   12345 kB"
			f := bytes.Fields(v)
			if len(f) > 0 {
				s.rssKB, _ = strconv.ParseInt(string(f[0]), 10, 64)
			}
			break
		}
	}
	return s, nil
}

// cpuTimes is one CPU's line of /proc/stat, in clock ticks.
type cpuTimes struct {
	busy, softirq, total int64
}

// sampleCPUs reads the time every CPU of the machine has spent so far.
// It always includes softirq work, where much of loopback TCP runs; a
// process's own CPU time includes it only when the kernel charges it to
// whichever task it interrupted (tick accounting without
// CONFIG_IRQ_TIME_ACCOUNTING), so only this says for sure that a CPU is
// saturated.
func sampleCPUs() ([]cpuTimes, error) {
	stat, err := os.ReadFile("/proc/stat")
	if err != nil {
		return nil, err
	}
	var cpus []cpuTimes
	for line := range bytes.Lines(stat) {
		f := bytes.Fields(line)
		// "cpuN user nice system idle iowait irq softirq steal ...";
		// the first line, "cpu", is the sum.
		if len(f) < 8 || !bytes.HasPrefix(f[0], []byte("cpu")) || len(f[0]) == 3 {
			continue
		}
		var c cpuTimes
		for i, v := range f[1:] {
			n, _ := strconv.ParseInt(string(v), 10, 64)
			switch i {
			case 3, 4: // idle, iowait
			case 6:
				c.softirq = n
				c.busy += n
			default:
				if i < 8 { // guest time is already counted in user
					c.busy += n
				}
			}
			if i < 8 {
				c.total += n
			}
		}
		cpus = append(cpus, c)
	}
	return cpus, nil
}
