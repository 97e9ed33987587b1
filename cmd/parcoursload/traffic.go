package main

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"math"
	mrand "math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// A kind of request of the mix: who sends it, what it does, the status it expects.
type kind struct {
	name   string
	weight int // share of the requests, out of the weights' sum
	want   int // the status a successful answer has
	write  bool
}

// The kinds of the mix: agents orienting and convoking, partners recording attendance at
// their sessions, reading the pathways and following the change feed, managers pulling the
// spend and indicator reports, agents reading the beneficiaries.
var kinds = []kind{
	{name: "orientation", weight: 20, want: http.StatusCreated, write: true},
	{name: "convocation", weight: 8, want: http.StatusCreated, write: true},
	{name: "attendance", weight: 8, want: http.StatusOK, write: true},
	{name: "beneficiary", weight: 20, want: http.StatusOK},
	{name: "beneficiary_list", weight: 6, want: http.StatusOK},
	{name: "partner_beneficiary", weight: 12, want: http.StatusOK},
	{name: "feed", weight: 16, want: http.StatusOK},
	{name: "report_spend", weight: 5, want: http.StatusOK},
	{name: "report_indicators", weight: 5, want: http.StatusOK},
}

// kindNamed is the kind called name.
func kindNamed(name string) (kind, bool) {
	for _, k := range kinds {
		if k.name == name {
			return k, true
		}
	}
	return kind{}, false
}

// share is the fraction of the requests that kinds named names take.
func share(names ...string) float64 {
	var part, all int
	for _, k := range kinds {
		all += k.weight
		for _, n := range names {
			if k.name == n {
				part += k.weight
			}
		}
	}
	return float64(part) / float64(all)
}

// partnersFor is how many partner clients share rate requests per second, each below the
// per-client limit.
func partnersFor(rate int) int {
	return max(1, int(math.Ceil(float64(rate)*share("attendance", "partner_beneficiary", "feed")/partnerShare)))
}

// sessionsFor is how many sessions the convocations of rate requests per second for the
// duration in seconds need, with room to spare.
func sessionsFor(rate int, seconds float64) int {
	return max(8, int(math.Ceil(float64(rate)*seconds*share("convocation")/(sessionCapacity*0.8)))+1)
}

// traffic makes the requests of the mix, in a fixed shuffled order of the kinds, and follows
// their answers: it records the writes in the ledger, queues the convocations created for
// their attendance, and moves each partner's feed cursor.
type traffic struct {
	base   string
	fx     *fixtures
	ledger *ledger
	run    string   // a random tag of the run, in every request id and key
	slots  []string // kind names, each weight times, shuffled
	n      atomic.Uint64
	picks  map[string]*atomic.Uint64 // per kind, how many targets it has drawn
	attend chan int64                // convocations created, waiting for their attendance

	mu      sync.Mutex
	cursors []string // per partner, the feed position
}

func newTraffic(base string, fx *fixtures, l *ledger) *traffic {
	t := &traffic{base: base, fx: fx, ledger: l, run: strings.ToLower(rand.Text()[:8]),
		picks: map[string]*atomic.Uint64{}, attend: make(chan int64, 1<<16), cursors: make([]string, len(fx.partners))}
	for _, k := range kinds {
		t.picks[k.name] = &atomic.Uint64{}
		for range k.weight {
			t.slots = append(t.slots, k.name)
		}
	}
	r := mrand.New(mrand.NewPCG(1, 2))
	r.Shuffle(len(t.slots), func(i, j int) { t.slots[i], t.slots[j] = t.slots[j], t.slots[i] })
	return t
}

// targeter is the vegeta Targeter of the mix; vegeta calls it from many workers at once.
func (t *traffic) targeter() vegeta.Targeter {
	return func(tgt *vegeta.Target) error {
		name := t.slots[(t.n.Add(1)-1)%uint64(len(t.slots))]
		if !t.fill(tgt, name) {
			t.fill(tgt, "beneficiary")
		}
		return nil
	}
}

// fill makes tgt a request of kind name; false when that kind has nothing to act on now.
func (t *traffic) fill(tgt *vegeta.Target, name string) bool {
	i := t.picks[name].Add(1) - 1
	fx := t.fx
	partner := fx.partners[int(i)%len(fx.partners)]
	nth := func(ids []int64, n uint64) int64 { return ids[n%uint64(len(ids))] }
	switch name {
	case "orientation":
		body := fmt.Sprintf(`{"route":"professionnelle","organisation_id":%d,"decided_on":%q,"origin":"individual"}`, fx.poleEmploi, fx.decidedOn)
		t.post(tgt, name, i, fx.agent, fmt.Sprintf("/api/v1/beneficiaries/%d/orientations", nth(fx.beneficiaries, i)), body)
	case "convocation":
		if i >= uint64(len(fx.convocable)) {
			return false
		}
		body := fmt.Sprintf(`{"beneficiary_id":%d,"sent_on":%q}`, fx.convocable[i], fx.sentOn)
		t.post(tgt, name, i, fx.agent, fmt.Sprintf("/api/v1/orientation-sessions/%d/convocations", nth(fx.sessions, i)), body)
	case "attendance":
		select {
		case convocation := <-t.attend:
			t.patchAttendance(tgt, i, partner, convocation)
		default:
			return false
		}
	case "beneficiary":
		t.request(tgt, http.MethodGet, name, i, fx.agent, fmt.Sprintf("/api/v1/beneficiaries/%d", nth(fx.beneficiaries, i*7919)), "")
	case "beneficiary_list":
		t.request(tgt, http.MethodGet, name, i, fx.agent, fmt.Sprintf("/api/v1/beneficiaries?limit=50&territory=%s-T%d", departement, i%8+1), "")
	case "partner_beneficiary":
		t.request(tgt, http.MethodGet, name, i, partner, fmt.Sprintf("/api/v1/beneficiaries/%d", nth(fx.partnerVisible, i)), "")
	case "feed":
		t.request(tgt, http.MethodGet, name, i, partner, "/api/v1/events?limit=100"+t.cursorParam(int(i)%len(fx.partners)), "")
	case "report_spend":
		t.request(tgt, http.MethodGet, name, i, fx.manager, "/api/v1/reports/spend?year=2020", "")
	case "report_indicators":
		t.request(tgt, http.MethodGet, name, i, fx.manager, "/api/v1/reports/indicators?year=2020", "")
	}
	return true
}

// request makes tgt the i-th request of kind name with token, and returns its request id,
// "<kind>.<run>.<i>". The URL's fragment, which never leaves the client, repeats the id, so
// that every result — a transport error included — names its request.
func (t *traffic) request(tgt *vegeta.Target, method, name string, i uint64, token, path, body string) string {
	id := fmt.Sprintf("%s.%s.%d", name, t.run, i)
	*tgt = vegeta.Target{Method: method, URL: t.base + path + "#" + id, Header: http.Header{
		"Authorization": {"Bearer " + token}, "X-Request-Id": {id}}}
	if body != "" {
		tgt.Body = []byte(body)
		tgt.Header.Set("Content-Type", "application/json")
	}
	return id
}

// post makes tgt a POST with an Idempotency-Key (its request id), recorded in the ledger
// before it leaves.
func (t *traffic) post(tgt *vegeta.Target, name string, i uint64, token, path, body string) {
	id := t.request(tgt, http.MethodPost, name, i, token, path, body)
	tgt.Header.Set("Idempotency-Key", id)
	t.ledger.sent(&write{kind: name, requestID: id, key: id})
}

// patchAttendance makes tgt the partner's record of the attendance at convocation (at its
// first version), recorded in the ledger before it leaves.
func (t *traffic) patchAttendance(tgt *vegeta.Target, i uint64, token string, convocation int64) {
	value := []string{"present", "excused", "no_show"}[convocation%3]
	id := t.request(tgt, http.MethodPatch, "attendance", i, token, fmt.Sprintf("/api/v1/convocations/%d", convocation), `{"attendance":"`+value+`"}`)
	tgt.Header.Set("If-Match", `"1"`)
	t.ledger.sent(&write{kind: "attendance", requestID: id, target: convocation, value: value})
}

// cursorParam is the &after= of partner's feed position, "" at the start.
func (t *traffic) cursorParam(partner int) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.cursors[partner] == "" {
		return ""
	}
	return "&after=" + url.QueryEscape(t.cursors[partner])
}

// resultLabel is the request id of a result, from its URL's fragment, with its kind and
// its index among the requests of that kind.
func resultLabel(res *vegeta.Result) (id, kindName string, i int) {
	_, id, _ = strings.Cut(res.URL, "#")
	parts := strings.Split(id, ".")
	if len(parts) != 3 {
		return id, "", 0
	}
	i, _ = strconv.Atoi(parts[2])
	return id, parts[0], i
}

// observe follows one answer: the ledger, the convocations to attend, the feed cursors.
func (t *traffic) observe(res *vegeta.Result) {
	id, name, i := resultLabel(res)
	w := t.ledger.answered(id, int(res.Code), res.Body)
	switch {
	case w != nil && w.kind == "convocation" && w.acked() && w.entityID > 0:
		select {
		case t.attend <- w.entityID:
		default: // more convocations waiting than the queue holds: this one is never attended
		}
	case name == "feed" && res.Code == http.StatusOK:
		t.advanceFeed(i%len(t.cursors), res.Body)
	}
}

// advanceFeed moves partner's feed position to the next_cursor of a page it read.
func (t *traffic) advanceFeed(partner int, body []byte) {
	var page struct {
		NextCursor *string `json:"next_cursor"`
	}
	if json.Unmarshal(body, &page) != nil || page.NextCursor == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.cursors[partner] = *page.NextCursor
}
