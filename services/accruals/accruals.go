// Package accruals computes what enrolments cost on the fiches actions of their programmes,
// month by month, from the programmes' unit costs: per enrolment (in the month it starts), per
// month of accompaniment (prorated by the days of the month the enrolment covers) and per
// costed event (in the month the event occurred); and what the cumul allocations cost on the
// fiche of the budget line they are charged to, in their month. Everything is computed in SQL.
package accruals

import (
	"context"
	"fmt"
	"time"

	"github.com/shopspring/decimal"
	"gorm.io/gorm"

	"parcours/services"
)

// Accruals are the amounts one fiche action accrued in each month of a year, up to AsOf.
type Accruals struct {
	Action string
	Year   int
	AsOf   time.Time // the last day that accrues: 31 December unless asked otherwise
	Months []Month   // the 12 months of the year, January first; zero when nothing accrued
	Total  decimal.Decimal
}

// Month is the amount accrued in the month starting on Start.
type Month struct {
	Start  time.Time
	Amount decimal.Decimal
}

// Service computes the accruals of the caller's département.
type Service struct {
	db *gorm.DB
}

// New returns an accruals service.
func New(db *gorm.DB) *Service { return &Service{db: db} }

// CheckAsOf says why asOf cannot end the accruals of year, or nil when it can: it must be a
// day of that year.
func CheckAsOf(year int, asOf time.Time) error {
	if asOf.Year() != year {
		return fmt.Errorf("must be a date of %d", year)
	}
	return nil
}

// period is the span that accrues: from 1 January of year to asOf.
type period struct {
	year int
	asOf time.Time
}

// newPeriod is year up to asOf, or the whole year when asOf is nil.
func newPeriod(year int, asOf *time.Time) (period, error) {
	if asOf == nil {
		return period{year: year, asOf: time.Date(year, time.December, 31, 0, 0, 0, 0, time.UTC)}, nil
	}
	if err := CheckAsOf(year, *asOf); err != nil {
		return period{}, &services.ValidationError{Fields: []services.FieldError{{Field: "as_of", Message: err.Error()}}}
	}
	return period{year: year, asOf: *asOf}, nil
}

// empty is the accruals of action when nothing accrued: 12 zero months.
func (p period) empty(action string) Accruals {
	out := Accruals{Action: action, Year: p.year, AsOf: p.asOf, Months: make([]Month, 12)}
	for i := range out.Months {
		out.Months[i].Start = time.Date(p.year, time.Month(i+1), 1, 0, 0, 0, 0, time.UTC)
	}
	return out
}

// ForAction returns the accruals of fiche action code in year, up to asOf (a day of year; nil
// for the whole year). An action that is neither a fiche of the département nor the action of
// one of its programmes is not found.
func (s *Service) ForAction(ctx context.Context, code string, year int, asOf *time.Time) (Accruals, error) {
	p, err := services.Caller(ctx)
	if err != nil {
		return Accruals{}, err
	}
	per, err := newPeriod(year, asOf)
	if err != nil {
		return Accruals{}, err
	}
	db := services.Conn(ctx, s.db)
	if err := RequireAction(db, p.Departement, code); err != nil {
		return Accruals{}, err
	}
	byAction, err := compute(ctx, db, p.Departement, code, per)
	if err != nil {
		return Accruals{}, err
	}
	if a, ok := byAction[code]; ok {
		return a, nil
	}
	return per.empty(code), nil
}

// ByAction returns the accruals of year up to asOf (nil: the whole year) of every fiche action
// that accrued something, by action code; an action absent from the map accrued nothing.
func (s *Service) ByAction(ctx context.Context, year int, asOf *time.Time) (map[string]Accruals, error) {
	p, err := services.Caller(ctx)
	if err != nil {
		return nil, err
	}
	per, err := newPeriod(year, asOf)
	if err != nil {
		return nil, err
	}
	return compute(ctx, services.Conn(ctx, s.db), p.Departement, "", per)
}

// RequireAction answers ErrNotFound unless code is a fiche action of departement in some
// year, or the action of one of its programmes.
func RequireAction(db *gorm.DB, departement, code string) error {
	var known bool
	err := db.Raw(`SELECT EXISTS (SELECT 1 FROM actions WHERE departement = @departement AND code = @code)
		OR EXISTS (SELECT 1 FROM programmes WHERE departement = @departement AND action_code = @code)`,
		map[string]any{"departement": departement, "code": code}).Row().Scan(&known)
	if err != nil {
		return fmt.Errorf("look up action %s: %w", code, err)
	}
	if !known {
		return fmt.Errorf("action %s: %w", code, services.ErrNotFound)
	}
	return nil
}

// accrualsSQL sums, per fiche action and month of the period (@year from 1 January to
// @as_of), what the enrolments of the département's programmes (of fiche @action, or of all
// fiches when @action is empty) accrued from their programme's unit costs:
//   - per_month: every month the enrolment covers, from started_on to ended_on included (to
//     @as_of when it is open or ends later), accrues amount × covered days ÷ days of the month,
//     rounded to the cent half away from zero (PostgreSQL's round(numeric, 2)) for each
//     enrolment and month: the one place where accruals round;
//   - per_enrolment: the amount, in the month of started_on;
//   - per_event: the amount, in the month of each enrolment event of that name (whatever the
//     enrolment's dates);
//
// and what the cumul allocations (services/cumul) of the period charged to a budget line of
// the fiche (4.4): each allocation's amount, in its month.
//
// ROLLUP adds one row per action with a NULL month: its total over the period.
const accrualsSQL = `WITH period AS (
	SELECT make_date(@year, 1, 1) AS first_day, CAST(@as_of AS date) AS last_day
),
months AS (
	SELECT CAST(m AS date) AS first_day, CAST(m + interval '1 month' - interval '1 day' AS date) AS last_day
	FROM period, generate_series(CAST(period.first_day AS timestamp), CAST(period.last_day AS timestamp), interval '1 month') AS m
),
costed AS (
	SELECT p.action_code, c.basis, c.event, c.amount, e.id AS enrolment_id, e.started_on,
	       least(coalesce(e.ended_on, period.last_day), period.last_day) AS until
	FROM programmes p
	JOIN programme_unit_costs c ON c.programme_id = p.id
	JOIN enrolments e ON e.programme_id = p.id AND e.departement = p.departement
	CROSS JOIN period
	WHERE p.departement = @departement AND (@action = '' OR p.action_code = @action)
),
accrued AS (
	SELECT x.action_code, m.first_day AS month,
	       round(x.amount * (least(x.until, m.last_day) - greatest(x.started_on, m.first_day) + 1)
	             / (m.last_day - m.first_day + 1), 2) AS amount
	FROM costed x
	JOIN months m ON m.first_day <= x.until AND m.last_day >= x.started_on
	WHERE x.basis = 'per_month' AND x.started_on <= x.until
	UNION ALL
	SELECT x.action_code, m.first_day, x.amount
	FROM costed x
	CROSS JOIN period
	JOIN months m ON x.started_on BETWEEN m.first_day AND m.last_day
	WHERE x.basis = 'per_enrolment' AND x.started_on <= period.last_day
	UNION ALL
	SELECT x.action_code, m.first_day, x.amount
	FROM costed x
	CROSS JOIN period
	JOIN enrolment_events ev ON ev.enrolment_id = x.enrolment_id AND ev.event = x.event
	JOIN months m ON ev.occurred_on BETWEEN m.first_day AND m.last_day
	WHERE x.basis = 'per_event' AND ev.occurred_on <= period.last_day
	UNION ALL
	SELECT a.code, al.month, al.amount
	FROM cumul_allocations al
	JOIN budget_lines bl ON bl.id = al.budget_line_id
	JOIN actions a ON a.id = bl.action_id
	CROSS JOIN period
	WHERE al.departement = @departement AND (@action = '' OR a.code = @action)
	  AND al.month BETWEEN period.first_day AND period.last_day
)
SELECT action_code, month, sum(amount) AS amount
FROM accrued
GROUP BY action_code, ROLLUP (month)
ORDER BY action_code, month`

// accruedRow is a month's amount of an action, or its total when Month is nil.
type accruedRow struct {
	ActionCode string
	Month      *time.Time
	Amount     decimal.Decimal
}

// compute runs accrualsSQL for departement and action ("" for every action) over per.
func compute(ctx context.Context, db *gorm.DB, departement, action string, per period) (map[string]Accruals, error) {
	var rows []accruedRow
	err := db.WithContext(ctx).Raw(accrualsSQL, map[string]any{
		"departement": departement, "action": action, "year": per.year, "as_of": per.asOf.Format(time.DateOnly),
	}).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("compute the accruals of %d: %w", per.year, err)
	}
	out := map[string]Accruals{}
	for _, r := range rows {
		a, ok := out[r.ActionCode]
		if !ok {
			a = per.empty(r.ActionCode)
		}
		if r.Month == nil {
			a.Total = r.Amount
		} else {
			a.Months[r.Month.Month()-1].Amount = r.Amount
		}
		out[r.ActionCode] = a
	}
	return out, nil
}
