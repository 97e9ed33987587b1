package synthetic

import "fmt"

// tables are the plan's rows, in dependency order.
func (p *plan) tables() []table {
	return []table{
		{"beneficiaries", []string{"departement", "last_name", "first_name", "birth_date", "payer", "allocataire_number",
			"territory_code", "commune", "household_size", "rights_opened_on", "subject_to_rights_and_duties", "independent_worker",
			"leaving_child_welfare"}, len(p.people), p.beneficiaryRow},
		{"orientation_sessions", []string{"departement", "territory_code", "site_organisation_id", "starts_at", "capacity",
			"employment_professional", "social_professional"}, len(p.sessions), p.sessionRow},
		{"convocations", []string{"departement", "session_id", "beneficiary_id", "sent_on", "attendance", "catch_up_on",
			"catch_up_attended"}, len(p.convocations), p.convocationRow},
		{"formal_notices", []string{"departement", "convocation_id", "beneficiary_id", "issued_on", "response_deadline", "outcome"},
			len(p.notices), p.noticeRow},
		{"orientations", []string{"departement", "beneficiary_id", "route", "organisation_id", "referent_id", "decided_on",
			"notified_on", "origin", "convocation_id"}, len(p.orientations), p.orientationRow},
		{"enrolments", []string{"departement", "beneficiary_id", "programme_id", "organisation_id", "referent_id", "orientation_id",
			"started_on", "first_appointment_on", "ended_on", "exit_reason"}, len(p.enrolments), p.enrolmentRow},
		{"enrolment_events", []string{"departement", "enrolment_id", "event", "occurred_on"}, len(p.events), p.eventRow},
		{"contracts", []string{"departement", "enrolment_id", "beneficiary_id", "type", "signed_on", "starts_on", "ends_on"},
			len(p.contracts), p.contractRow},
		{"cumul_agreements", []string{"departement", "beneficiary_id", "employer", "siret", "sector", "contract_type", "starts_on",
			"ends_on", "hours"}, len(p.agreements), p.agreementRow},
		{"cumul_allocations", []string{"departement", "agreement_id", "budget_line_id", "month", "wages", "rsa_without_wages",
			"amount"}, len(p.allocations), p.allocationRow},
		{"expenses", []string{"departement", "action_id", "kind", "amount", "entry_date", "supplier", "reference", "funder",
			"state_share", "departement_share", "carryover_share", "other_share"}, len(p.expenses), p.expenseRow},
	}
}

func (p *plan) beneficiaryRow(i int) []any {
	b := p.people[i]
	return []any{b.ref.code, b.last, b.first, b.birth, "caf", b.number, b.ref.territories[b.territory],
		"Commune " + b.ref.territories[b.territory], b.household, b.rightsOpened, b.subject, b.independent, b.young && i%7 == 0}
}

func (p *plan) sessionRow(i int) []any {
	s := p.sessions[i]
	return []any{s.ref.code, s.ref.territories[s.territory], s.ref.poleEmploi, s.startsAt, max(s.convoked, 10),
		"Conseiller·e Pôle emploi", "Travailleur·se social·e"}
}

func (p *plan) convocationRow(i int) []any {
	c := p.convocations[i]
	return []any{p.people[c.person].ref.code, p.ids["orientation_sessions"][c.session], p.ids["beneficiaries"][c.person],
		c.sent, c.attendance, c.catchUp, c.catchUpAttended}
}

func (p *plan) noticeRow(i int) []any {
	c := p.convocations[p.notices[i]]
	outcome := []string{"answered", "unanswered", "sanction_proposed"}[i%3]
	return []any{p.people[c.person].ref.code, p.ids["convocations"][p.notices[i]], p.ids["beneficiaries"][c.person],
		c.noticeIssued, days(c.noticeIssued, 30), outcome}
}

func (p *plan) orientationRow(i int) []any {
	o := p.orientations[i]
	ref := p.people[o.person].ref
	return []any{ref.code, p.ids["beneficiaries"][o.person], o.route, o.organisation, ref.referents[o.organisation],
		o.decided, days(o.decided, 3), o.origin, p.ids["convocations"][o.convocation]}
}

func (p *plan) enrolmentRow(i int) []any {
	e := p.enrolments[i]
	ref := p.people[e.person].ref
	return []any{ref.code, p.ids["beneficiaries"][e.person], e.programme.id, e.programme.organisation,
		ref.referents[e.programme.organisation], p.ids["orientations"][e.orientation], e.started, e.firstAppointment,
		e.ended, e.exitReason}
}

func (p *plan) eventRow(i int) []any {
	ev := p.events[i]
	return []any{p.people[p.enrolments[ev.parent].person].ref.code, p.ids["enrolments"][ev.parent], ev.label, ev.on}
}

func (p *plan) contractRow(i int) []any {
	c := p.contracts[i]
	e := p.enrolments[c.parent]
	months := 6
	if i%3 == 0 {
		months = 12
	}
	return []any{p.people[e.person].ref.code, p.ids["enrolments"][c.parent], p.ids["beneficiaries"][e.person], c.label,
		c.on, c.on, c.on.AddDate(0, months, -1)}
}

func (p *plan) agreementRow(i int) []any {
	a := p.agreements[i]
	sector, kind := "agrifood", "fixed_term"
	if a.agr {
		sector = "agriculture"
	}
	if a.seasonal {
		kind = "seasonal"
	}
	return []any{p.people[a.person].ref.code, p.ids["beneficiaries"][a.person], a.employer, siret(i), sector, kind,
		a.starts, a.ends, a.hours}
}

// siret is a fictitious 14-digit establishment number.
func siret(i int) string { return fmt.Sprintf("9%013d", i) }

func (p *plan) allocationRow(i int) []any {
	a := p.allocations[i]
	ref := p.people[p.agreements[a.agreement].person].ref
	return []any{ref.code, p.ids["cumul_agreements"][a.agreement], ref.cumulLine, a.month, money(a.wages),
		money(a.rsaNoWages), money(max(0, min(a.wages, a.rsaNoWages)))}
}

func (p *plan) expenseRow(i int) []any {
	e := p.expenses[i]
	kind := "commitment"
	if e.payment {
		kind = "payment"
	}
	return []any{e.ref.code, e.action, kind, money(e.cents), e.entry, e.supplier, e.reference, "departement",
		money(0), money(e.cents), money(0), money(0)}
}
