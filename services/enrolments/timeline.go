package enrolments

import "parcours/services/orientations"

// Event types the enrolments add to a beneficiary's timeline.
const (
	EventEnrolmentStarted = "enrolment_started"
	EventCosted           = "enrolment_event"
	EventFirstAppointment = "first_appointment"
	EventContractSigned   = "contract_signed"
	EventEnrolmentEnded   = "enrolment_ended"
)

// enrolmentsOf joins the enrolments of the timeline's beneficiary to their programme.
const enrolmentsOf = ` FROM enrolments e JOIN programmes pr ON pr.id = e.programme_id
		WHERE e.beneficiary_id = @beneficiary AND e.departement = @departement`

// TimelineSources are the events of accompaniment in a beneficiary's timeline, in their order
// within a day: the start of an enrolment (programme, fiche, organisation, referent), its
// costed events, its first appointment, the contracts signed and its exit (with the reason).
// Give them to orientations.Service.WithEventSources.
func TimelineSources() []orientations.EventSource {
	return []orientations.EventSource{
		{Type: EventEnrolmentStarted, SQL: `SELECT e.started_on AS event_date, e.id AS ref,
			jsonb_build_object('enrolment_id', e.id, 'programme_code', pr.code, 'programme', pr.name,
				'action_code', pr.action_code, 'organisation_id', e.organisation_id, 'organisation', org.name,
				'referent_id', e.referent_id,
				'referent', CASE WHEN r.id IS NULL THEN NULL ELSE r.first_name || ' ' || r.last_name END,
				'orientation_id', e.orientation_id) AS detail
			FROM enrolments e JOIN programmes pr ON pr.id = e.programme_id
			JOIN organisations org ON org.id = e.organisation_id
			LEFT JOIN referents r ON r.id = e.referent_id
			WHERE e.beneficiary_id = @beneficiary AND e.departement = @departement`},
		{Type: EventCosted, SQL: `SELECT ev.occurred_on AS event_date, ev.id AS ref,
			jsonb_build_object('enrolment_id', e.id, 'programme_code', pr.code, 'event_id', ev.id, 'event', ev.event) AS detail
			FROM enrolment_events ev JOIN enrolments e ON e.id = ev.enrolment_id
			JOIN programmes pr ON pr.id = e.programme_id
			WHERE e.beneficiary_id = @beneficiary AND e.departement = @departement`},
		{Type: EventFirstAppointment, SQL: `SELECT e.first_appointment_on AS event_date, e.id AS ref,
			jsonb_build_object('enrolment_id', e.id, 'programme_code', pr.code) AS detail` + enrolmentsOf},
		{Type: EventContractSigned, SQL: `SELECT c.signed_on AS event_date, c.id AS ref,
			jsonb_build_object('contract_id', c.id, 'enrolment_id', c.enrolment_id, 'programme_code', pr.code,
				'type', c.type, 'starts_on', c.starts_on, 'ends_on', c.ends_on) AS detail
			FROM contracts c JOIN enrolments e ON e.id = c.enrolment_id
			JOIN programmes pr ON pr.id = e.programme_id
			WHERE c.beneficiary_id = @beneficiary AND c.departement = @departement`},
		{Type: EventEnrolmentEnded, SQL: `SELECT e.ended_on AS event_date, e.id AS ref,
			jsonb_build_object('enrolment_id', e.id, 'programme_code', pr.code, 'exit_reason', e.exit_reason,
				'renewals', e.renewals) AS detail` + enrolmentsOf},
	}
}
