package pipeline

import "time"

// ScheduleStep moves a cron schedule one reconcile pass on. next is the
// fire time recorded so far (nil for none) and now the pass's time. It
// returns the fire time to record and, when a fire time came due, that
// time: the caller starts one run for it (keyed by it, so a repeated pass
// starts no second run) before recording the new next time. Fire times
// missed while nothing ran start no runs of their own, and a recorded time
// that the (possibly edited) schedule would not produce belongs to an
// earlier schedule, so the schedule starts over from now.
func ScheduleStep(expr string, next *time.Time, now time.Time) (time.Time, *time.Time, error) {
	sched, err := ParseSchedule(expr)
	if err != nil {
		return time.Time{}, nil, err
	}
	if next == nil || !NextFire(sched, next.Add(-time.Second)).Equal(*next) {
		return NextFire(sched, now), nil, nil
	}
	if now.Before(*next) {
		return *next, nil, nil
	}
	due := next.UTC()
	return NextFire(sched, now), &due, nil
}
