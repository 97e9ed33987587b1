package reports

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/shopspring/decimal"
	"gorm.io/gorm"

	"parcours/services"
	"parcours/services/accruals"
	"parcours/services/money"
)

// spendSQL is the spend report of fiches @year of @departement from 1 January to @as_of, in one
// statement: a row per fiche action (level 0), per funding line of the year (level 1, the
// sums over its fiches; zero for a line without any) and the grand total over every fiche of
// the year (level 2).
//
//   - committed and paid: the ledger entries of the fiche (reversals included, so net) dated
//     from 1 January to @as_of, summed by kind with GROUP BY;
//   - accrued: the accruals of the fiche up to @as_of (enrolments and cumul allocations, from
//     accruals.Service.ByAction), passed in @accrued as JSON [{code, amount, state_amount}];
//   - state_consumed: the State shares of those payments plus the State's part of the
//     accruals (state_amount: the accrual split in the fiche's Annexe 3 proportions).
//
// Consumption, remainders, rates, projections and flags are derived from these sums per row.
const spendSQL = `WITH accrued AS (
	SELECT * FROM jsonb_to_recordset(CAST(@accrued AS jsonb)) AS x (code text, amount numeric, state_amount numeric)
),
ledger AS (
	SELECT e.action_id,
	       sum(e.amount) FILTER (WHERE e.kind = 'commitment') AS committed,
	       sum(e.amount) FILTER (WHERE e.kind = 'payment') AS paid,
	       sum(e.state_share) FILTER (WHERE e.kind = 'payment') AS state_paid
	FROM expenses e
	WHERE e.departement = @departement AND e.entry_date BETWEEN make_date(@year, 1, 1) AND CAST(@as_of AS date)
	GROUP BY e.action_id
),
fiches AS (
	SELECT a.id, a.code, a.title, a.position, a.funding_line_id,
	       a.budget, a.state_share, a.departement_share, a.carryover, a.other_funders,
	       coalesce(l.committed, 0) AS committed, coalesce(l.paid, 0) AS paid, coalesce(x.amount, 0) AS accrued,
	       coalesce(l.state_paid, 0) + coalesce(x.state_amount, 0) AS state_consumed
	FROM actions a
	LEFT JOIN ledger l ON l.action_id = a.id
	LEFT JOIN accrued x ON x.code = a.code
	WHERE a.departement = @departement AND a.year = @year
)
SELECT 0 AS level, f.position, f.code, f.title, coalesce(fl.chorus, '') AS chorus, '' AS label, '' AS theme,
       f.budget, f.state_share, f.departement_share, f.carryover, f.other_funders,
       f.committed, f.paid, f.accrued, f.state_consumed
FROM fiches f LEFT JOIN funding_lines fl ON fl.id = f.funding_line_id
UNION ALL
SELECT 1, fl.position, '', '', fl.chorus, fl.label, fl.theme, ` + spendSums + `
FROM funding_lines fl LEFT JOIN fiches f ON f.funding_line_id = fl.id
WHERE fl.departement = @departement AND fl.year = @year
GROUP BY fl.id
UNION ALL
SELECT 2, 0, '', '', '', '', '', ` + spendSums + `
FROM fiches f
ORDER BY level, position, code, chorus`

// spendSums sums the money columns of the fiches f.
const spendSums = `coalesce(sum(f.budget), 0), coalesce(sum(f.state_share), 0), coalesce(sum(f.departement_share), 0),
       coalesce(sum(f.carryover), 0), coalesce(sum(f.other_funders), 0), coalesce(sum(f.committed), 0),
       coalesce(sum(f.paid), 0), coalesce(sum(f.accrued), 0), coalesce(sum(f.state_consumed), 0)`

// Levels of the rows of spendSQL.
const (
	levelAction = iota
	levelFundingLine
	levelTotal
)

// spendRow is a row of spendSQL.
type spendRow struct {
	Level                                    int
	Position                                 int
	Code, Title, Chorus, Label, Theme        string
	Budget, StateShare, DepartementShare     decimal.Decimal
	Carryover, OtherFunders, Committed, Paid decimal.Decimal
	Accrued, StateConsumed                   decimal.Decimal
}

// accruedRow is an accrual of a fiche handed to spendSQL.
type accruedRow struct {
	Code        string `json:"code"`
	Amount      string `json:"amount"`
	StateAmount string `json:"state_amount"`
}

// Spend is the spend report of year from 1 January to asOf (a day of year; nil for
// DefaultAsOf), for administrators and managers: per fiche action, per funding line and in
// all, the Annexe 3 budget and shares with what was committed, paid, accrued and consumed, the
// execution rate, the linear projection to 31 December and the flags. A year without a
// convention is services.ErrNotFound.
func (s *Service) Spend(ctx context.Context, year int, asOf *time.Time) (Spend, error) {
	p, err := services.Caller(ctx)
	if err != nil {
		return Spend{}, err
	}
	if !CanReadSpend(p) {
		return Spend{}, fmt.Errorf("read the spend report: %w", services.ErrForbidden)
	}
	day, err := s.asOf(year, asOf)
	if err != nil {
		return Spend{}, err
	}
	var rows []spendRow
	err = services.ReadSnapshot(ctx, s.db, func(ctx context.Context) error {
		rows, err = s.spendRows(ctx, p.Departement, year, day)
		return err
	})
	if err != nil {
		return Spend{}, err
	}
	return assemble(year, p.Departement, day, rows), nil
}

// spendRows sums the spend of departement's fiches of year up to day: the accruals, split in
// each fiche's Annexe 3 proportions, and the ledger.
func (s *Service) spendRows(ctx context.Context, departement string, year int, day time.Time) ([]spendRow, error) {
	db := services.Conn(ctx, s.db)
	if err := requireYear(db, departement, year); err != nil {
		return nil, err
	}
	byAction, err := s.accruals.ByAction(ctx, year, &day)
	if err != nil {
		return nil, err
	}
	accrued, err := accruedJSON(db, departement, year, byAction)
	if err != nil {
		return nil, err
	}
	var rows []spendRow
	if err := db.Raw(spendSQL, map[string]any{"departement": departement, "year": year,
		"as_of": day.Format(time.DateOnly), "accrued": accrued}).Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("sum the spend of %d: %w", year, err)
	}
	return rows, nil
}

// accruedJSON hands the accruals of the fiches of year to spendSQL, each with its State part:
// the accrual split in the fiche's Annexe 3 proportions (State, département, carry-over,
// other) by money.Split, as an expense without a funder is; nothing for a fiche without shares.
func accruedJSON(db *gorm.DB, departement string, year int, byAction map[string]accruals.Accruals) (string, error) {
	var fiches []struct {
		Code                                                  string
		StateShare, DepartementShare, Carryover, OtherFunders decimal.Decimal
	}
	if err := db.Table("actions").Select("code, state_share, departement_share, carryover, other_funders").
		Where("departement = ? AND year = ?", departement, year).Scan(&fiches).Error; err != nil {
		return "", fmt.Errorf("read the shares of the fiches of %d: %w", year, err)
	}
	rows := []accruedRow{}
	for _, f := range fiches {
		a, ok := byAction[f.Code]
		if !ok {
			continue
		}
		parts, err := money.Split(a.Total, []decimal.Decimal{f.StateShare, f.DepartementShare, f.Carryover, f.OtherFunders})
		state := decimal.Zero
		switch {
		case err == nil:
			state = parts[0]
		case !errors.Is(err, money.ErrNoWeights):
			return "", fmt.Errorf("split the accruals of %s: %w", f.Code, err)
		}
		rows = append(rows, accruedRow{Code: f.Code, Amount: a.Total.String(), StateAmount: state.String()})
	}
	b, err := json.Marshal(rows)
	return string(b), err
}

// assemble turns the rows of spendSQL into the report, deriving each row's figures.
func assemble(year int, departement string, asOf time.Time, rows []spendRow) Spend {
	out := Spend{Year: year, Departement: departement, AsOf: asOf, Actions: []ActionSpend{}, FundingLines: []FundingLineSpend{}}
	elapsed, days := yearDays(year, asOf)
	for _, r := range rows {
		fig := r.figures(elapsed, days)
		switch r.Level {
		case levelAction:
			out.Actions = append(out.Actions, ActionSpend{Code: r.Code, Title: r.Title, FundingLine: r.Chorus, SpendFigures: fig})
		case levelFundingLine:
			out.FundingLines = append(out.FundingLines, FundingLineSpend{Chorus: r.Chorus, Label: r.Label, Theme: r.Theme, SpendFigures: fig})
		case levelTotal:
			out.Totals = fig
		}
	}
	return out
}

// yearDays are the days of year from 1 January to asOf included, and the days of the year.
func yearDays(year int, asOf time.Time) (elapsed, days int64) {
	first := time.Date(year, time.January, 1, 0, 0, 0, 0, time.UTC)
	next := time.Date(year+1, time.January, 1, 0, 0, 0, 0, time.UTC)
	day := time.Date(asOf.Year(), asOf.Month(), asOf.Day(), 0, 0, 0, 0, time.UTC)
	return int64(day.Sub(first).Hours()/24) + 1, int64(next.Sub(first).Hours() / 24)
}

// figures derives a row's figures from its sums, elapsed days of the year's days gone by:
//
//   - Consumed = Paid + Accrued, Remaining = Budget − Consumed;
//   - ExecutionRate = Consumed ÷ Budget rounded half away from zero to 4 decimals (0 when the
//     budget is 0);
//   - ProjectedYearEnd = Consumed × days ÷ elapsed, rounded to the cent by money.Cents;
//   - Flags: FlagOverspendRisk when the projection exceeds the budget, FlagUnderspendRisk when
//     it is under half the budget, FlagStateCreditsAtRisk when the State's part of what was
//     consumed exceeds the State share.
func (r spendRow) figures(elapsed, days int64) SpendFigures {
	f := SpendFigures{Budget: r.Budget, StateShare: r.StateShare, DepartementShare: r.DepartementShare, Carryover: r.Carryover,
		OtherFunders: r.OtherFunders, Committed: r.Committed, Paid: r.Paid, Accrued: r.Accrued, StateConsumed: r.StateConsumed,
		ExecutionRate: decimal.Zero, Flags: []string{}}
	f.Consumed = f.Paid.Add(f.Accrued)
	f.Remaining = f.Budget.Sub(f.Consumed)
	if !f.Budget.IsZero() {
		f.ExecutionRate = f.Consumed.DivRound(f.Budget, 4)
	}
	f.ProjectedYearEnd = money.Cents(f.Consumed.Mul(decimal.NewFromInt(days)).Div(decimal.NewFromInt(elapsed)))
	if f.ProjectedYearEnd.GreaterThan(f.Budget) {
		f.Flags = append(f.Flags, FlagOverspendRisk)
	}
	if f.ProjectedYearEnd.Mul(decimal.NewFromInt(2)).LessThan(f.Budget) {
		f.Flags = append(f.Flags, FlagUnderspendRisk)
	}
	if f.StateConsumed.GreaterThan(f.StateShare) {
		f.Flags = append(f.Flags, FlagStateCreditsAtRisk)
	}
	return f
}
