package synthetic

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// Attendance values of a convocation, and the share of each (the rest are present).
const (
	noShowRate  = 0.25
	excusedRate = 0.05
)

var (
	lastNames   = []string{"MARTIN", "BERNARD", "THOMAS", "PETIT", "ROBERT", "RICHARD", "DURAND", "DUBOIS", "MOREAU", "LAURENT", "SIMON", "MICHEL", "LEFEBVRE", "LEROY", "ROUX", "DAVID", "BERTRAND", "MOREL", "FOURNIER", "GIRARD"}
	firstNames  = []string{"Marie", "Nathalie", "Isabelle", "Sylvie", "Sophie", "Julie", "Laura", "Sarah", "Jean", "Philippe", "Michel", "Alain", "Nicolas", "Karim", "Thomas", "Kevin", "Mehdi", "Yasmine", "Léa", "Hugo"}
	exitReasons = []string{"employment_permanent", "employment_fixed_term", "employment_fixed_term", "training", "civic_service",
		"business_created", "gave_up", "reoriented", "left_rsa", "left_rsa", "moved", "other"}
	// entrantsFrom .. entrantsTo is the window rights are opened in (2019-2021).
	entrantsFrom = date(2019, 1, 1)
	entrantsDays = int(date(2022, 1, 1).Sub(entrantsFrom).Hours() / 24)
)

// person is a beneficiary; the other rows refer to their index in plan.people.
type person struct {
	ref                         *reference
	territory                   int
	last, first, number         string
	birth, rightsOpened         time.Time
	household                   int
	subject, independent, young bool
}

type session struct {
	ref       *reference
	territory int
	startsAt  time.Time
	convoked  int
}

type convocation struct {
	person, session       int
	sent                  time.Time
	attendance            string
	catchUp               *time.Time
	catchUpAttended       *bool
	noticeIssued, decided time.Time
}

type orientation struct {
	person, convocation int // convocation -1 when none
	route, origin       string
	organisation        int64
	decided             time.Time
}

type enrolment struct {
	person, orientation int
	programme           programme
	started             time.Time
	firstAppointment    *time.Time
	ended               *time.Time
	exitReason          *string
}

type datedRow struct {
	parent int
	label  string
	on     time.Time
}

type agreement struct {
	person        int
	starts, ends  time.Time
	hours         float64
	employer      string
	seasonal, agr bool
}

type allocation struct {
	agreement         int
	month             time.Time
	wages, rsaNoWages int64
}

type expense struct {
	ref       *reference
	action    int64
	payment   bool
	cents     int64
	entry     time.Time
	reference string
	supplier  string
}

// plan is the whole data set, generated in memory from the seed before anything is written.
type plan struct {
	r            *rand.Rand
	ids          idSet
	people       []person
	sessions     []session
	sessionIndex map[string]int
	convocations []convocation
	notices      []int // convocation indexes
	orientations []orientation
	enrolments   []enrolment
	events       []datedRow
	contracts    []datedRow // parent: enrolment, label: type, on: signed
	agreements   []agreement
	allocations  []allocation
	expenses     []expense
}

func newPlan(seed uint64, refs []reference, beneficiaries int) *plan {
	p := &plan{r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), ids: idSet{}, sessionIndex: map[string]int{}}
	for d := range refs {
		n := beneficiaries / len(refs)
		if d < beneficiaries%len(refs) {
			n++
		}
		for range n {
			p.pathway(&refs[d])
		}
		p.ledger(&refs[d], n)
	}
	return p
}

func date(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

func days(t time.Time, n int) time.Time { return t.AddDate(0, 0, n) }

// logNormalDays draws a delay in days with the given median and a long tail.
func (p *plan) logNormalDays(median, sigma float64) int {
	return int(math.Round(median * math.Exp(sigma*p.r.NormFloat64())))
}

func (p *plan) chance(rate float64) bool { return p.r.Float64() < rate }

func pick[T any](p *plan, xs []T) T { return xs[p.r.IntN(len(xs))] }

// pathway generates one beneficiary and what became of them.
func (p *plan) pathway(ref *reference) {
	i := len(p.people)
	b := person{ref: ref, territory: p.r.IntN(len(ref.territories)), last: pick(p, lastNames), first: pick(p, firstNames),
		number: fmt.Sprintf("S%08d", i), birth: days(date(1960, 1, 1), p.r.IntN(40*365)),
		rightsOpened: days(entrantsFrom, p.r.IntN(entrantsDays)), household: 1 + p.r.IntN(4),
		subject: p.chance(0.95), independent: p.chance(0.05)}
	b.young = b.birth.After(date(1996, 1, 1))
	p.people = append(p.people, b)
	if !b.subject {
		return
	}
	c := p.convoke(i)
	o := p.orient(i, c)
	if o >= 0 && p.chance(0.7) {
		p.enrol(i, o)
	}
	if b.rightsOpened.Before(date(2020, 10, 1)) && p.chance(0.03) {
		p.cumul(i)
	}
}

// convoke convokes person i to the platform of their territory on the Friday after a
// long-tailed delay from the opening of their rights.
func (p *plan) convoke(i int) int {
	b := p.people[i]
	at := days(b.rightsOpened, 7+p.logNormalDays(21, 0.7))
	for at.Weekday() != time.Friday {
		at = days(at, 1)
	}
	key := fmt.Sprintf("%s/%d/%s", b.ref.code, b.territory, at.Format(time.DateOnly))
	s, ok := p.sessionIndex[key]
	if !ok {
		s = len(p.sessions)
		p.sessionIndex[key] = s
		p.sessions = append(p.sessions, session{ref: b.ref, territory: b.territory, startsAt: at.Add(9 * time.Hour)})
	}
	p.sessions[s].convoked++
	c := convocation{person: i, session: s, sent: days(at, -10), attendance: "present", decided: at}
	switch draw := p.r.Float64(); {
	case draw < noShowRate:
		c.attendance = "no_show"
		p.missed(&c, at)
	case draw < noShowRate+excusedRate:
		c.attendance = "excused"
		c.decided = days(at, 14+p.logNormalDays(14, 0.8))
	}
	p.convocations = append(p.convocations, c)
	return len(p.convocations) - 1
}

// missed offers a catch-up to most no-shows; those who miss it get a formal notice and, for
// half of them, a late administrative orientation.
func (p *plan) missed(c *convocation, at time.Time) {
	c.decided = time.Time{}
	if p.chance(0.6) {
		on := days(at, 3+p.r.IntN(12))
		attended := p.chance(0.7)
		c.catchUp, c.catchUpAttended = &on, &attended
		if attended {
			c.decided = on
			return
		}
	}
	c.noticeIssued = days(at, 20)
	p.notices = append(p.notices, len(p.convocations))
	if p.chance(0.5) {
		c.decided = days(at, 45+p.logNormalDays(30, 1))
	}
}

// orient records the decision that follows convocation c, if any, and returns its index.
func (p *plan) orient(i, c int) int {
	cv := p.convocations[c]
	if cv.decided.IsZero() {
		return -1
	}
	b := p.people[i]
	o := orientation{person: i, convocation: c, decided: cv.decided, origin: "platform", organisation: b.ref.poleEmploi}
	switch {
	case cv.attendance == "excused" || cv.catchUp != nil && *cv.catchUpAttended:
		o.origin = "individual"
	case cv.attendance == "no_show":
		o.origin = "administrative"
	}
	switch draw := p.r.Float64(); {
	case draw < 0.55:
		o.route = "professionnelle"
	case draw < 0.8:
		o.route = "socio_professionnelle"
	default:
		o.route, o.organisation = "sociale", b.ref.cms[b.territory]
	}
	p.orientations = append(p.orientations, o)
	return len(p.orientations) - 1
}

// enrol enrols person i in the programme of their route, with a first appointment, a
// contract and, for most, an exit.
func (p *plan) enrol(i, o int) {
	b, or := p.people[i], p.orientations[o]
	route := or.route
	if b.independent {
		route = "independent"
	}
	prog := b.ref.programmes[route]
	e := enrolment{person: i, orientation: o, programme: prog, started: days(or.decided, p.logNormalDays(10, 0.8))}
	idx := len(p.enrolments)
	if p.chance(0.85) {
		first := days(e.started, p.logNormalDays(9, 0.7))
		e.firstAppointment = &first
		if p.chance(0.85) {
			p.contracts = append(p.contracts, datedRow{parent: idx, label: prog.contract, on: days(first, p.r.IntN(21))})
		}
	}
	for _, ev := range prog.events {
		p.events = append(p.events, datedRow{parent: idx, label: ev, on: days(e.started, p.r.IntN(30))})
	}
	if p.chance(0.6) {
		length := 30 + p.r.IntN(330)
		if prog.maxMonths > 0 {
			length = min(length, prog.maxMonths*30)
		}
		end, reason := days(e.started, length), pick(p, exitReasons)
		e.ended, e.exitReason = &end, &reason
	}
	p.enrolments = append(p.enrolments, e)
}

// cumul gives person i a seasonal or fixed-term agricultural job in 2020 under fiche 4.4,
// and its monthly allocations.
func (p *plan) cumul(i int) {
	starts := days(date(2020, 4, 1), p.r.IntN(180))
	a := agreement{person: i, starts: starts, ends: days(starts, 30+p.r.IntN(90)), hours: float64(15 + p.r.IntN(21)),
		employer: fmt.Sprintf("EARL %s", pick(p, lastNames)), seasonal: p.chance(0.7), agr: p.chance(0.8)}
	if a.ends.Year() > budgetYear {
		a.ends = date(budgetYear, 12, 31)
	}
	idx := len(p.agreements)
	p.agreements = append(p.agreements, a)
	for m := date(starts.Year(), starts.Month(), 1); !m.After(a.ends); m = m.AddDate(0, 1, 0) {
		p.allocations = append(p.allocations, allocation{agreement: idx, month: m,
			wages: int64(30000 + p.r.IntN(90000)), rsaNoWages: int64(40000 + p.r.IntN(16000))})
	}
}

// ledger writes one commitment or payment per fifty beneficiaries on the fiches of 2020.
func (p *plan) ledger(ref *reference, beneficiaries int) {
	for k := range max(1, beneficiaries/50) {
		p.expenses = append(p.expenses, expense{ref: ref, action: pick(p, ref.actions), payment: p.chance(0.6),
			cents: int64(10000 + p.r.IntN(490000)), entry: days(date(budgetYear, 1, 2), p.r.IntN(360)),
			reference: fmt.Sprintf("SYN-%s-%05d", ref.code, k+1), supplier: pick(p, ref.suppliers)})
	}
}
