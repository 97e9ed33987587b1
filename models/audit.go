package models

import "time"

// AuditEvent is one append-only audit row: who did what to which record, when.
type AuditEvent struct {
	ID          int64 `gorm:"primaryKey"`
	Departement string
	OccurredAt  time.Time `gorm:"default:now()"`
	Actor       string
	Role        string
	Action      string
	Resource    string
	ResourceID  string
	RequestID   string
}

// TableName is the SQL table of AuditEvent.
func (AuditEvent) TableName() string { return "audit_events" }
