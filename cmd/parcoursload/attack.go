package main

import (
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// requestTimeout bounds every request of the load: an answer slower than this is a
// transport error, so a hang shows as one rather than stalling the run.
const requestTimeout = 30 * time.Second

// attack sends the mix at rate requests per second for d, hands every answer to observe as
// it arrives, and returns the results (bodies dropped). It returns early once stop is closed.
func (t *traffic) attack(rate int, d time.Duration, stop <-chan struct{}) []*vegeta.Result {
	attacker := vegeta.NewAttacker(vegeta.Timeout(requestTimeout), vegeta.KeepAlive(true),
		vegeta.Redirects(vegeta.NoFollow), vegeta.MaxWorkers(512))
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-stop:
			attacker.Stop()
		case <-done:
		}
	}()
	var results []*vegeta.Result
	for res := range attacker.Attack(t.targeter(), vegeta.Rate{Freq: rate, Per: time.Second}, d, "parcours") {
		t.observe(res)
		res.Body = nil
		results = append(results, res)
	}
	return results
}
