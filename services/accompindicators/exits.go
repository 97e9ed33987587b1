package accompindicators

import (
	"context"
	"fmt"

	"gorm.io/gorm"

	"parcours/services"
	"parcours/services/accruals"
	"parcours/services/enrolments"
	"parcours/services/indicators"
)

// ExitCounts are the enrolments of a fiche ended in a year, in all and by reason.
type ExitCounts struct {
	Action   string
	Year     int
	Total    int64
	ByReason map[string]int64 // every one of enrolments.ExitReasons, 0 when none
}

// Service reads the exit breakdowns of the caller's département.
type Service struct {
	db *gorm.DB
}

// New returns an exits service.
func New(db *gorm.DB) *Service { return &Service{db: db} }

// exitsByReasonSQL counts the exits of the year by reason; ROLLUP adds the total with a NULL
// reason (an ended enrolment always has a reason).
const exitsByReasonSQL = `SELECT e.exit_reason AS reason, count(*) AS n FROM ` + enrolmentsFrom + `
WHERE ` + inScope + ` AND ` + endedInYear + `
GROUP BY ROLLUP (e.exit_reason)`

// Exits counts the enrolments of the programmes of fiche action ended in year, by reason. An
// action that is neither a fiche of the département nor the action of one of its programmes
// is not found.
func (s *Service) Exits(ctx context.Context, action string, year int) (ExitCounts, error) {
	p, err := services.Caller(ctx)
	if err != nil {
		return ExitCounts{}, err
	}
	db := services.Conn(ctx, s.db)
	if err := accruals.RequireAction(db, p.Departement, action); err != nil {
		return ExitCounts{}, err
	}
	var rows []struct {
		Reason *string
		N      int64
	}
	q := indicators.Query{Departement: p.Departement, Year: year}
	if err := db.WithContext(ctx).Raw(exitsByReasonSQL, args(q, action)).Scan(&rows).Error; err != nil {
		return ExitCounts{}, fmt.Errorf("count the exits of fiche %s in %d: %w", action, year, err)
	}
	out := ExitCounts{Action: action, Year: year, ByReason: make(map[string]int64, len(enrolments.ExitReasons))}
	for _, r := range enrolments.ExitReasons {
		out.ByReason[r] = 0
	}
	for _, r := range rows {
		if r.Reason == nil {
			out.Total = r.N
		} else {
			out.ByReason[*r.Reason] = r.N
		}
	}
	return out, nil
}
