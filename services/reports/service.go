package reports

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"

	"parcours/services"
	"parcours/services/accruals"
	"parcours/services/auth"
	"parcours/services/indicators"
)

// Service builds the reports of the caller's département.
type Service struct {
	db         *gorm.DB
	accruals   *accruals.Service
	indicators *indicators.Service
	now        func() time.Time
}

// New returns the report service; registry holds the computed indicators (nil: none).
func New(db *gorm.DB, registry *indicators.Registry) *Service {
	return &Service{db: db, accruals: accruals.New(db), indicators: indicators.New(db, registry), now: time.Now}
}

// SpendRoles may read the spend report: aggregates of the budget, for management.
var SpendRoles = []auth.Role{auth.RoleAdmin, auth.RoleManager}

// CanReadSpend reports whether p may read the spend report.
func CanReadSpend(p auth.Principal) bool { return p.HasRole(SpendRoles...) }

// DefaultAsOf is the day a report of year stops at when none is asked, on day today: today
// during the year, 31 December for a past year, 1 January for a year to come.
func DefaultAsOf(year int, today time.Time) time.Time {
	first := time.Date(year, time.January, 1, 0, 0, 0, 0, time.UTC)
	last := time.Date(year, time.December, 31, 0, 0, 0, 0, time.UTC)
	y, m, d := today.Date()
	day := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	switch {
	case day.Before(first):
		return first
	case day.After(last):
		return last
	default:
		return day
	}
}

// asOf is the day the spend report of year stops at: asked, or DefaultAsOf.
func (s *Service) asOf(year int, asked *time.Time) (time.Time, error) {
	if asked == nil {
		return DefaultAsOf(year, s.now()), nil
	}
	if err := accruals.CheckAsOf(year, *asked); err != nil {
		return time.Time{}, &services.ValidationError{Fields: []services.FieldError{{Field: "as_of", Message: err.Error()}}}
	}
	return *asked, nil
}

// requireYear answers services.ErrNotFound unless the département has a convention year.
func requireYear(db *gorm.DB, departement string, year int) error {
	var known bool
	if err := db.Raw(`SELECT EXISTS (SELECT 1 FROM convention_years WHERE departement = ? AND year = ?)`, departement, year).
		Row().Scan(&known); err != nil {
		return fmt.Errorf("look up convention year %d: %w", year, err)
	}
	if !known {
		return fmt.Errorf("no convention year %d: %w", year, services.ErrNotFound)
	}
	return nil
}

// Indicators is the indicator report of year for the whole département.
func (s *Service) Indicators(ctx context.Context, year int) (Indicators, error) {
	return s.IndicatorReport(ctx, indicators.ReportFilter{Year: year})
}

// IndicatorReport is the indicator report f asks for (a year, optionally one fiche, values of
// one territory): every indicator with its target, value (computed or declared) and status.
func (s *Service) IndicatorReport(ctx context.Context, f indicators.ReportFilter) (Indicators, error) {
	p, err := services.Caller(ctx)
	if err != nil {
		return Indicators{}, err
	}
	var rep indicators.Report
	err = services.ReadSnapshot(ctx, s.db, func(ctx context.Context) error {
		rep, err = s.indicators.Report(ctx, f)
		return err
	})
	if err != nil {
		return Indicators{}, err
	}
	out := Indicators{Year: rep.Year, Departement: p.Departement, Action: rep.ActionCode, Territory: rep.Territory,
		Rows: make([]IndicatorRow, len(rep.Rows))}
	for i, r := range rep.Rows {
		out.Rows[i] = indicatorRow(r)
	}
	return out, nil
}

func indicatorRow(r indicators.ReportRow) IndicatorRow {
	row := IndicatorRow{Code: r.Code, Action: r.ActionCode, Scope: r.Scope, Label: r.Label, Unit: r.Unit, Method: r.Method,
		Value: r.Value, Params: r.Params, Declared: r.Declared}
	if t := r.Target; t != nil {
		row.Target.Decimal, row.Target.Valid = t.Value, true
		row.TargetComparator, row.TargetNote = t.Comparator, t.Note
	}
	row.Status = Status(row.Value, row.Target, row.TargetComparator)
	return row
}
