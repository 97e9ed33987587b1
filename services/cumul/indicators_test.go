package cumul_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"parcours/services"
	"parcours/services/cumul"
	"parcours/services/indicators"
	"parcours/services/servicetest"
)

// year of agreements and allocations: agen1..agen3 live in 47-AGEN1, nerac1 and nerac2 in
// 47-NERAC.
//   - agen1: agriculture, seasonal, April–October 2020 (7 months); allocated 564.78 in June
//     and 300.00 in July.
//   - agen2: agriculture, seasonal, 15 June–15 August 2020 (June, July, August) and agrifood,
//     seasonal, September–December 2020 (4 months): 7 distinct months; 100.00 in December.
//   - agen3: two employers over the same months, June–August 2020: 3 distinct months, not 6;
//     the second is agrifood, fixed_term.
//   - nerac1: agriculture, seasonal, May 2020–March 2021, rights reopened on 10 July 2020: in
//     force May, June, July 2020 only; 200.00 in June.
//   - nerac2: agriculture, seasonal, January–August 2021.
func year(t *testing.T, e *env) {
	t.Helper()
	agen1, agen2, agen3 := e.person("47-AGEN1"), e.person("47-AGEN1"), e.person("47-AGEN1")
	nerac1, nerac2 := e.person("47-NERAC"), e.person("47-NERAC")
	other := func(in cumul.AgreementInput, siret, sector, contract string) cumul.AgreementInput {
		in.SIRET, in.Sector, in.ContractType = ptr(siret), ptr(sector), ptr(contract)
		return in
	}
	a1 := e.agree(agreement(t, agen1, "2020-04-01", "2020-10-31"))
	e.agree(agreement(t, agen2, "2020-06-15", "2020-08-15"))
	a2 := e.agree(other(agreement(t, agen2, "2020-09-01", "2020-12-31"), "44306184100047", "agrifood", "seasonal"))
	e.agree(agreement(t, agen3, "2020-06-01", "2020-08-31"))
	e.agree(other(agreement(t, agen3, "2020-06-01", "2020-08-31"), "44306184100047", "agrifood", "fixed_term"))
	n1 := e.agree(agreement(t, nerac1, "2020-05-01", "2021-03-31"))
	_, err := e.svc.UpdateAgreement(e.ctx, n1.ID, n1.Version, cumul.AgreementChange{ReopenedOn: day(t, "2020-07-10")})
	require.NoError(t, err)
	e.agree(agreement(t, nerac2, "2021-01-01", "2021-08-31"))
	for _, al := range []struct {
		id                int64
		month, wages, rsa string
	}{{a1.ID, "2020-06", "1200.00", "564.78"}, {a1.ID, "2020-07", "300.00", "564.78"}, {a2.ID, "2020-12", "100.00", "564.78"},
		{n1.ID, "2020-06", "200.00", "564.78"}} {
		_, err := e.svc.Allocate(e.ctx, al.id, allocation(t, al.month, al.wages, al.rsa))
		require.NoError(t, err)
	}
}

// describe writes a group's figures in one line.
func describe(g cumul.GroupFigures) string {
	return fmt.Sprintf("%s: %d agreements, %d people, %d allocations, %s", g.Key, g.Agreements, g.People, g.Allocations, g.Amount.StringFixed(2))
}

func describeAll(list []cumul.GroupFigures) []string {
	out := make([]string, len(list))
	for i, g := range list {
		out[i] = describe(g)
	}
	return out
}

func TestCumulIndicators(t *testing.T) {
	e := newEnv(t, cumul.Scheme44)
	year(t, e)
	registry := indicators.NewRegistry()
	cumul.RegisterIndicators(registry)
	svc := indicators.New(e.db, registry)
	// The document names no allocations indicator: an administrator defines one.
	_, err := svc.Create(e.ctx, cumul.CodeAllocationsAmount, indicators.Input{ActionCode: ptr("4.4"), Scope: ptr("departmental"),
		Label: ptr("Montant des allocations"), Unit: ptr("amount"), Method: ptr("computed")})
	require.NoError(t, err)

	values := func(year int, territory string) map[string]string {
		t.Helper()
		rep, err := svc.Report(e.ctx, indicators.ReportFilter{Year: year, ActionCode: "4.4", Territory: territory})
		require.NoError(t, err)
		out := map[string]string{}
		for _, r := range rep.Rows {
			require.True(t, r.Value.Valid, r.Code)
			out[r.Code] = r.Value.Decimal.String()
		}
		return out
	}
	assert.Equal(t, map[string]string{"4.4.people_enrolled": "4", "4.4.people_maintained": "2", "4.4.allocations_amount": "1164.78"},
		values(2020, ""), "maintained: agen1 (7 months) and agen2 (3 + 4 months)")
	assert.Equal(t, map[string]string{"4.4.people_enrolled": "3", "4.4.people_maintained": "2", "4.4.allocations_amount": "964.78"},
		values(2020, "47-AGEN1"))
	assert.Equal(t, map[string]string{"4.4.people_enrolled": "1", "4.4.people_maintained": "0", "4.4.allocations_amount": "200"},
		values(2020, "47-NERAC"))
	assert.Equal(t, map[string]string{"4.4.people_enrolled": "1", "4.4.people_maintained": "1", "4.4.allocations_amount": "0"},
		values(2021, ""), "nerac1's agreement stopped with the reopening in 2020")

	// With min_months at 3, agen3 (June–August) and nerac1 (May–July) are kept too.
	_, err = svc.Update(e.ctx, cumul.CodePeopleMaintained, services.AnyVersion, indicators.Input{Params: &map[string]float64{cumul.MinMonthsParam: 3}})
	require.NoError(t, err)
	assert.Equal(t, "4", values(2020, "")["4.4.people_maintained"])
}

func TestSummary(t *testing.T) {
	e := newEnv(t, cumul.Scheme44)
	year(t, e)
	s, err := e.svc.Summary(servicetest.As(manager), 2020)
	require.NoError(t, err)
	require.Len(t, s.Months, 12)
	var months []string
	for _, m := range s.Months {
		months = append(months, m.Start.Format("2006-01")+" "+m.Amount.StringFixed(2))
	}
	assert.Equal(t, []string{"2020-01 0.00", "2020-02 0.00", "2020-03 0.00", "2020-04 0.00", "2020-05 0.00", "2020-06 764.78",
		"2020-07 300.00", "2020-08 0.00", "2020-09 0.00", "2020-10 0.00", "2020-11 0.00", "2020-12 100.00"}, months)
	assert.Equal(t, int64(2), s.Months[5].Allocations)
	assert.Equal(t, ": 6 agreements, 4 people, 4 allocations, 1164.78", describe(s.Total))
	assert.Equal(t, []string{
		"agriculture: 4 agreements, 4 people, 3 allocations, 1064.78",
		"agrifood: 2 agreements, 2 people, 1 allocations, 100.00",
	}, describeAll(s.BySector))
	assert.Equal(t, []string{
		"seasonal: 5 agreements, 4 people, 4 allocations, 1164.78",
		"fixed_term: 1 agreements, 1 people, 0 allocations, 0.00",
	}, describeAll(s.ByContractType))

	empty, err := e.svc.Summary(e.ctx, 2019)
	require.NoError(t, err)
	assert.True(t, empty.Total.Amount.IsZero())
	assert.Equal(t, "agrifood: 0 agreements, 0 people, 0 allocations, 0.00", describe(empty.BySector[1]))
	_, err = e.svc.Summary(servicetest.As(agentAgen), 2020)
	assert.ErrorIs(t, err, services.ErrForbidden)
}
