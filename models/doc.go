// Package models holds the gorm row types of Parcours, the database connection and the
// translation of PostgreSQL errors into storage errors. It has no business rules.
package models
