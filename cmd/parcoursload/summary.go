package main

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// summary is the figures of a run, per kind of request and in all.
type summary struct {
	elapsed time.Duration
	total   *vegeta.Metrics
	byKind  map[string]*vegeta.Metrics
	// unexpected counts, per kind, the answers that are neither the kind's success nor a 5xx
	// or a transport error (which fail the run on their own).
	unexpected map[string]int
}

func summarize(results []*vegeta.Result) summary {
	s := summary{total: &vegeta.Metrics{}, byKind: map[string]*vegeta.Metrics{}, unexpected: map[string]int{}}
	for _, res := range results {
		_, name, _ := resultLabel(res)
		m, ok := s.byKind[name]
		if !ok {
			m = &vegeta.Metrics{}
			s.byKind[name] = m
		}
		m.Add(res)
		s.total.Add(res)
		if k, ok := kindNamed(name); ok && int(res.Code) != k.want && res.Code != 0 && res.Code < 500 {
			s.unexpected[name]++
		}
	}
	s.total.Close()
	for _, m := range s.byKind {
		m.Close()
	}
	s.elapsed = s.total.Duration + s.total.Wait
	return s
}

// count is how many answers had a status in [from, to); 0 counts transport errors.
func count(m *vegeta.Metrics, from, to int) int {
	n := 0
	for code, c := range m.StatusCodes {
		if status, _ := strconv.Atoi(code); status >= from && status < to {
			n += c
		}
	}
	return n
}

// failures are what fails a run: any 5xx, any request without an answer.
func (s summary) failures() []string {
	var out []string
	if n := count(s.total, 500, 600); n > 0 {
		out = append(out, fmt.Sprintf("%d answers with a 5xx status", n))
	}
	if n := count(s.total, 0, 1); n > 0 {
		out = append(out, fmt.Sprintf("%d requests without an answer: %s", n, strings.Join(s.total.Errors, "; ")))
	}
	return out
}

func (s summary) print(w io.Writer) {
	fmt.Fprintf(w, "load: %d requests in %s (%.1f req/s sent, %.1f answered 2xx/s): %d 2xx, %d 4xx, %d 5xx, %d without an answer\n",
		s.total.Requests, s.elapsed.Round(time.Millisecond), s.total.Rate, s.total.Throughput,
		count(s.total, 200, 300), count(s.total, 400, 500), count(s.total, 500, 600), count(s.total, 0, 1))
	fmt.Fprintf(w, "load %-20s %8s %9s %9s %9s  %s\n", "kind", "requests", "p50", "p99", "max", "statuses")
	names := make([]string, 0, len(s.byKind))
	for name := range s.byKind {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		m := s.byKind[name]
		fmt.Fprintf(w, "load %-20s %8d %9s %9s %9s  %s\n", name, m.Requests, ms(m.Latencies.P50), ms(m.Latencies.P99),
			ms(m.Latencies.Max), statuses(m.StatusCodes))
	}
	fmt.Fprintf(w, "load %-20s %8d %9s %9s %9s  %s\n", "all", s.total.Requests, ms(s.total.Latencies.P50),
		ms(s.total.Latencies.P99), ms(s.total.Latencies.Max), statuses(s.total.StatusCodes))
}

func ms(d time.Duration) string {
	return strconv.FormatFloat(float64(d.Microseconds())/1000, 'f', 1, 64) + "ms"
}

// statuses lists "status×count" by status; 0 is a transport error.
func statuses(codes map[string]int) string {
	keys := make([]string, 0, len(codes))
	for code := range codes {
		keys = append(keys, code)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, code := range keys {
		parts[i] = fmt.Sprintf("%s×%d", code, codes[code])
	}
	return strings.Join(parts, " ")
}
