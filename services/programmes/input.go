package programmes

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/shopspring/decimal"

	"parcours/services"
	"parcours/services/money"
)

// Bases of a unit cost: per costed event (a diagnostic interview, an evaluation…), per started
// month of accompaniment, or once per enrolment.
const (
	BasisPerEvent     = "per_event"
	BasisPerMonth     = "per_month"
	BasisPerEnrolment = "per_enrolment"
)

// Bases lists the bases of a unit cost.
var Bases = []string{BasisPerEvent, BasisPerMonth, BasisPerEnrolment}

const (
	maxNameRunes = 200
	// maxLimit bounds max_months, max_renewals and capacity: far beyond any programme.
	maxLimit = 100000
)

var (
	codePattern = regexp.MustCompile(`^[a-z][a-z0-9_]{1,39}$`)
	// EventPattern is the form of a costed event's name: snake_case, at most 64 characters.
	EventPattern = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)
	fichePattern = regexp.MustCompile(`^[1-9][0-9]?(\.[1-9][0-9]?)?$`)
)

// UnitCost is what a programme costs on one basis; Event names the costed event of a
// per_event cost and is "" otherwise.
type UnitCost struct {
	Basis  string
	Event  string
	Amount decimal.Decimal
}

// Input creates or changes a programme; nil fields are left as they are. Code is given at
// creation only. OrganisationIDs and UnitCosts, when given, replace the whole set. MaxMonths
// and Capacity at 0 remove the limit.
type Input struct {
	Code            *string
	Name            *string
	ActionCode      *string
	OrganisationIDs *[]int64
	UnitCosts       *[]UnitCost
	MaxMonths       *int
	MaxRenewals     *int
	Capacity        *int
}

// Validate checks the input's own rules without the database (those are the service's:
// the fiche and the organisations must exist).
func (in Input) Validate(creating bool) error {
	var v services.Validator
	in.normalize(&v, creating)
	return v.Err()
}

// normalize trims the texts in place (on copies) and records every broken rule in v.
func (in *Input) normalize(v *services.Validator, creating bool) {
	in.Code, in.Name, in.ActionCode = trimmed(in.Code), trimmed(in.Name), trimmed(in.ActionCode)
	switch {
	case !creating:
		v.Check(in.Code == nil, "code", "is read-only: the path names the programme")
	case in.Code == nil:
		v.Check(false, "code", "is required")
	default:
		v.Check(codePattern.MatchString(*in.Code), "code", "must be 2 to 40 lower-case letters, digits or underscores, starting with a letter")
	}
	if in.Name != nil || creating {
		services.CheckText(v, "name", in.Name, maxNameRunes)
	}
	if in.ActionCode != nil || creating {
		v.Check(in.ActionCode != nil && fichePattern.MatchString(*in.ActionCode), "action_code", `must be a fiche action code such as "4.2"`)
	}
	if in.OrganisationIDs != nil || creating {
		checkOrganisationIDs(v, in.OrganisationIDs)
	}
	if in.UnitCosts != nil {
		checkUnitCosts(v, *in.UnitCosts)
	}
	limit := func(field string, n *int, min int) {
		v.Check(n == nil || (*n >= min && *n <= maxLimit), field, fmt.Sprintf("must be a whole number from %d to %d", min, maxLimit))
	}
	limit("max_months", in.MaxMonths, 0)
	limit("max_renewals", in.MaxRenewals, 0)
	limit("capacity", in.Capacity, 0)
}

func checkOrganisationIDs(v *services.Validator, ids *[]int64) {
	if ids == nil || len(*ids) == 0 {
		v.Check(false, "organisation_ids", "must name at least one organisation providing the programme")
		return
	}
	seen := map[int64]bool{}
	for _, id := range *ids {
		v.Check(id > 0, "organisation_ids", "must hold positive ids")
		v.Check(!seen[id], "organisation_ids", fmt.Sprintf("names organisation %d twice", id))
		seen[id] = true
	}
}

// checkUnitCosts records the broken rules of a set of unit costs: a known basis, an event
// exactly for per_event costs, an amount in euros, and one cost per basis and event.
func checkUnitCosts(v *services.Validator, costs []UnitCost) {
	seen := map[[2]string]bool{}
	for _, c := range costs {
		ok := slices.Contains(Bases, c.Basis)
		v.Check(ok, "unit_costs.basis", "must be one of "+strings.Join(Bases, ", "))
		if c.Basis == BasisPerEvent {
			v.Check(EventPattern.MatchString(c.Event), "unit_costs.event", "must name the costed event in snake_case, e.g. diagnostic_interview")
		} else if ok {
			v.Check(c.Event == "", "unit_costs.event", "is only for per_event costs")
		}
		money.Validate(v, "unit_costs.amount", &c.Amount)
		key := [2]string{c.Basis, c.Event}
		v.Check(!seen[key], "unit_costs", "must not repeat a basis and event")
		seen[key] = true
	}
}

// trimmed returns a trimmed copy of *s, nil for nil.
func trimmed(s *string) *string {
	if s == nil {
		return nil
	}
	t := strings.TrimSpace(*s)
	return &t
}
