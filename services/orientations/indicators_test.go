package orientations_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"parcours/services"
	"parcours/services/budget"
	"parcours/services/indicators"
	"parcours/services/orientations"
	"parcours/services/orientations/pathwaytest"
)

// figures are the three orientation indicators of a report, as strings ("" for null).
type figures struct{ entrants, within, delay string }

func (p *pathway) figures(t *testing.T, svc *indicators.Service, year int, territory string) figures {
	t.Helper()
	rep, err := svc.Report(p.admin, indicators.ReportFilter{Year: year, ActionCode: "3.1", Territory: territory})
	require.NoError(t, err)
	assert.Equal(t, territory, rep.Territory)
	values := map[string]string{}
	for _, r := range rep.Rows {
		if r.Value.Valid {
			values[r.Code] = r.Value.Decimal.String()
		}
	}
	return figures{values[orientations.CodeNewEntrants], values[orientations.CodeNewEntrantsOriented], values[orientations.CodeOrientationDelay]}
}

// entrant records a beneficiary whose rights opened on opened and, for each delay, a decision
// that many days later (the first one is the first orientation; later ones reorient).
func (p *pathway) entrant(t *testing.T, territory, opened string, subject bool, delays ...int) {
	t.Helper()
	id := p.fx.Beneficiary(pathwaytest.Person{Territory: territory, RightsOpenedOn: opened, Subject: &subject})
	routes := []string{"professionnelle", "sociale"}
	for i, days := range delays {
		decided := pathwaytest.Date(t, opened).AddDate(0, 0, days)
		_, err := p.svc.Decide(p.admin, id, orientations.Input{Route: &routes[i%2], OrganisationID: &p.pe,
			DecidedOn: &decided, Origin: ptr("individual")})
		require.NoError(t, err)
	}
}

// indicatorService seeds the 2020 convention (its indicator definitions) and returns an
// indicator service whose registry holds the orientation indicators.
func (p *pathway) indicatorService(t *testing.T) *indicators.Service {
	t.Helper()
	doc, err := budget.Convention2020()
	require.NoError(t, err)
	_, err = budget.Seed(p.admin, p.db, doc)
	require.NoError(t, err)
	registry := indicators.NewRegistry()
	orientations.RegisterIndicators(registry)
	return indicators.New(p.db, registry)
}

func TestOrientationIndicatorsComputedByHand(t *testing.T) {
	p := newOrganisations(t)
	svc := p.indicatorService(t)

	// Five entrants of 2020 in two territories: first decisions 10 (reoriented at 60), 29, 31
	// and 45 days after their rights opened, and one never oriented.
	p.entrant(t, "47-AGEN1", "2020-02-01", true, 10, 60)
	p.entrant(t, "47-AGEN1", "2020-03-01", true, 29)
	p.entrant(t, "47-NERAC", "2020-04-01", true, 31)
	p.entrant(t, "47-NERAC", "2020-05-01", true, 45)
	p.entrant(t, "47-AGEN1", "2020-06-01", true)
	// Not counted: not subject to rights and duties; rights opened in 2019.
	p.entrant(t, "47-AGEN1", "2020-03-01", false, 5)
	p.entrant(t, "47-AGEN1", "2019-12-15", true, 21)

	// 5 entrants; within 30 days: 10 and 29; mean delay (10 + 29 + 31 + 45) / 4 = 28.75.
	assert.Equal(t, figures{"5", "2", "28.75"}, p.figures(t, svc, 2020, ""))
	// 47-AGEN1: 10, 29 and the one never oriented: 3 entrants, 2 within, (10 + 29) / 2 = 19.5.
	assert.Equal(t, figures{"3", "2", "19.5"}, p.figures(t, svc, 2020, "47-AGEN1"))
	// 47-NERAC: 31 and 45: 2 entrants, none within 30 days, (31 + 45) / 2 = 38.
	assert.Equal(t, figures{"2", "0", "38"}, p.figures(t, svc, 2020, "47-NERAC"))
	assert.Equal(t, figures{"0", "0", ""}, p.figures(t, svc, 2020, "47-FUMEL"), "nobody: no mean")
	// 2019: the entrant of 15 December, oriented 21 days later.
	assert.Equal(t, figures{"1", "1", "21"}, p.figures(t, svc, 2019, ""))

	// The threshold is data: 31 days counts the third entrant, 45 the fourth, none falls back to 30.
	for _, tt := range []struct {
		params map[string]float64
		within string
	}{{map[string]float64{"threshold_days": 31}, "3"}, {map[string]float64{"threshold_days": 45}, "4"}, {map[string]float64{}, "2"}} {
		_, err := svc.Update(p.admin, orientations.CodeNewEntrantsOriented, services.AnyVersion, indicators.Input{Params: &tt.params})
		require.NoError(t, err)
		assert.Equal(t, tt.within, p.figures(t, svc, 2020, "").within, "%v", tt.params)
	}
}

func TestOrientationDelayRoundsHalfAwayFromZero(t *testing.T) {
	p := newOrganisations(t)
	svc := p.indicatorService(t)
	// Seven entrants oriented the day their rights opened, one the day after: 1 / 8 = 0.125.
	for i := range 8 {
		opened := time.Date(2021, 3, 1+i, 0, 0, 0, 0, time.UTC).Format(time.DateOnly)
		p.entrant(t, "47-NERAC", opened, true, i/7)
	}
	assert.Equal(t, figures{"8", "8", "0.13"}, p.figures(t, svc, 2021, "47-NERAC"), "half away from zero, not to even")
}
