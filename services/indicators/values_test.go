package indicators_test

import (
	"context"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"parcours/models"
	"parcours/services"
	"parcours/services/auth"
	"parcours/services/indicators"
	"parcours/services/servicetest"
)

func declaration(period, value string) indicators.ValueInput {
	return indicators.ValueInput{Period: ptr(period), Value: ptr(decimal.RequireFromString(value)), Source: ptr("bilan DASI")}
}

// values are the report's values of 2020 by code ("" for none), for territory.
func values(t *testing.T, svc *indicators.Service, ctx context.Context, territory string) map[string]string {
	t.Helper()
	rep, err := svc.Report(ctx, indicators.ReportFilter{Year: 2020, Territory: territory})
	require.NoError(t, err)
	out := map[string]string{}
	for _, r := range rep.Rows {
		out[r.Code] = ""
		if r.Value.Valid {
			out[r.Code] = r.Value.Decimal.String()
		}
	}
	return out
}

func TestDeclaredValuesMakeTheReport(t *testing.T) {
	svc, db, ctx := seeded(t, nil)
	declare := func(code string, in indicators.ValueInput) {
		t.Helper()
		_, err := svc.DeclareValue(ctx, code, in)
		require.NoError(t, err, code)
	}
	// A yearly figure, corrected: the latest counts, the first is kept.
	declare("3.1.platform_territories", declaration("2020", "2"))
	declare("3.1.platform_territories", declaration("2020", "4"))
	// Monthly counts add up, each month's latest declaration counting.
	declare("2.1.people_trained", declaration("2020-03", "10"))
	declare("2.1.people_trained", declaration("2020-06", "5"))
	declare("2.1.people_trained", declaration("2020-03", "12"))
	// Monthly rates: the last month's.
	declare("2.1.coverage_rate_30_min", declaration("2020-05", "0.55"))
	declare("2.1.coverage_rate_30_min", declaration("2020-02", "0.4"))
	// A yearly declaration wins over the months.
	declare("2.1.engaged_structures", declaration("2020-01", "3"))
	declare("2.1.engaged_structures", declaration("2020", "9"))
	// Another year does not count; a decrease may be negative.
	declare("2.1.people_welcomed", declaration("2019", "100"))
	declare("4.2.rsa_expenditure", declaration("2020", "-120000.50"))

	got := values(t, svc, ctx, "")
	for code, want := range map[string]string{
		"3.1.platform_territories": "4", "2.1.people_trained": "17", "2.1.coverage_rate_30_min": "0.55",
		"2.1.engaged_structures": "9", "2.1.people_welcomed": "", "4.2.rsa_expenditure": "-120000.5", "5.trainings_by_theme": "",
	} {
		assert.Equal(t, want, got[code], code)
	}

	rep, err := svc.Report(ctx, indicators.ReportFilter{Year: 2020, ActionCode: "2.1"})
	require.NoError(t, err)
	for _, r := range rep.Rows {
		if r.Code != "2.1.people_trained" {
			continue
		}
		require.Len(t, r.Declared, 2, "the latest declaration of each period")
		assert.Equal(t, "2020-03", r.Declared[0].Period)
		assert.Equal(t, "12", r.Declared[0].Value.String())
		assert.Equal(t, "2020-06", r.Declared[1].Period)
		assert.Equal(t, "bilan DASI", r.Declared[1].Source)
	}

	var history int64
	require.NoError(t, db.Model(&models.IndicatorValue{}).Count(&history).Error)
	assert.Equal(t, int64(11), history, "every declaration is kept")
	var audited int64
	require.NoError(t, db.Table("audit_events").Where("resource = 'indicator_value' AND action = 'create'").Count(&audited).Error)
	assert.Equal(t, int64(11), audited)
}

func TestAgentsDeclareTheirTerritorysFigures(t *testing.T) {
	svc, db, admin := seeded(t, nil)
	for _, code := range []string{"47-AGEN1", "47-NERAC"} {
		require.NoError(t, db.Create(&models.Territory{Departement: "47", Code: code, Name: code, Version: 1}).Error)
	}
	agent := servicetest.As(auth.Principal{Subject: "cms-agen", Role: auth.RoleAgent, Departement: "47", Territories: []string{"47-AGEN1"}})
	in := declaration("2020", "7")
	in.Territory = ptr("47-AGEN1")
	v, err := svc.DeclareValue(agent, "2.1.people_welcomed", in)
	require.NoError(t, err)
	assert.Equal(t, "47-AGEN1", v.Territory)
	assert.Positive(t, v.ID)
	in.Territory, in.Value = ptr("47-NERAC"), ptr(decimal.NewFromInt(3))
	_, err = svc.DeclareValue(admin, "2.1.people_welcomed", in)
	require.NoError(t, err, "an administrator declares for any territory")

	assert.Equal(t, "7", values(t, svc, admin, "47-AGEN1")["2.1.people_welcomed"])
	assert.Equal(t, "3", values(t, svc, admin, "47-NERAC")["2.1.people_welcomed"])
	assert.Equal(t, "", values(t, svc, admin, "")["2.1.people_welcomed"], "territories are not added up into the département")
	assert.Equal(t, "", values(t, svc, admin, "47-FUMEL")["2.1.people_welcomed"])
}

func TestDeclarationRules(t *testing.T) {
	svc, db, admin := seeded(t, nil)
	require.NoError(t, db.Create(&models.Territory{Departement: "47", Code: "47-NERAC", Name: "Nérac", Version: 1}).Error)
	agent := servicetest.As(auth.Principal{Subject: "cms-agen", Role: auth.RoleAgent, Departement: "47", Territories: []string{"47-AGEN1"}})
	with := func(f func(*indicators.ValueInput)) indicators.ValueInput {
		in := declaration("2020", "1")
		f(&in)
		return in
	}
	tests := []struct {
		name   string
		ctx    context.Context
		code   string
		in     indicators.ValueInput
		fields []string
	}{
		{"empty", admin, "2.1.people_trained", indicators.ValueInput{}, []string{"period", "value", "source"}},
		{"malformed", admin, "2.1.people_trained", with(func(in *indicators.ValueInput) {
			in.Period, in.Value, in.Source, in.Comment = ptr("2020-13"), ptr(decimal.RequireFromString("1.00001")), ptr(" "), ptr("\x07")
		}), []string{"period", "value", "source", "comment"}},
		{"a period to come", admin, "2.1.people_trained", with(func(in *indicators.ValueInput) { in.Period = ptr("2099-01") }), []string{"period"}},
		{"before 2000", admin, "2.1.people_trained", with(func(in *indicators.ValueInput) { in.Period = ptr("1999") }), []string{"period"}},
		{"too large", admin, "2.1.people_trained", with(func(in *indicators.ValueInput) { in.Value = ptr(decimal.New(1, 14)) }), []string{"value"}},
		{"a computed indicator", admin, "3.1.new_entrants", declaration("2020", "1"), []string{"code"}},
		{"an unknown territory", admin, "2.1.people_trained", with(func(in *indicators.ValueInput) { in.Territory = ptr("47-NOWHERE") }), []string{"territory"}},
		{"an agent without territory", agent, "2.1.people_trained", declaration("2020", "1"), []string{"territory"}},
		{"an agent for another territory", agent, "2.1.people_trained", with(func(in *indicators.ValueInput) { in.Territory = ptr("47-NERAC") }), []string{"territory"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := svc.DeclareValue(tt.ctx, tt.code, tt.in)
			var verr *services.ValidationError
			require.ErrorAs(t, err, &verr)
			var got []string
			for _, f := range verr.Fields {
				got = append(got, f.Field)
			}
			assert.ElementsMatch(t, tt.fields, got)
		})
	}
	_, err := svc.DeclareValue(admin, "9.9.none", declaration("2020", "1"))
	assert.ErrorIs(t, err, services.ErrNotFound)
	_, err = svc.DeclareValue(servicetest.As(auth.Principal{Subject: "a33", Role: auth.RoleAdmin, Departement: "33"}), "2.1.people_trained", declaration("2020", "1"))
	assert.ErrorIs(t, err, services.ErrNotFound, "another département's indicator")
	_, err = svc.DeclareValue(servicetest.As(auth.Principal{Subject: "m", Role: auth.RoleManager, Departement: "47"}), "2.1.people_trained", declaration("2020", "1"))
	assert.ErrorIs(t, err, services.ErrForbidden)

	var n int64
	require.NoError(t, db.Model(&models.IndicatorValue{}).Count(&n).Error)
	assert.Zero(t, n, "refusals write nothing")
}
