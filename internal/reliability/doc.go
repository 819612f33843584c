// Package reliability holds the tests that mlopsd loses nothing when things
// go wrong: a SIGKILL in the middle of a terraform apply, clients racing on
// one object (terraform's saved plans included), a replica dying next to
// another on PostgreSQL, pipeline steps of a killed mlopsd, the database
// going away and coming back. They run real mlopsd processes and real
// databases on loopback, bounded in time and in the number of objects.
//
// The tests that run terraform need TF_ACC=1, like the provider's
// acceptance tests; the others run with plain go test. The PostgreSQL tests
// are skipped where PostgreSQL is not installed (see internal/pgtest).
package reliability
