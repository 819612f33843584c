#!/bin/sh
# train.sh fits y = slope * x + intercept to the prepared CSV by least
# squares and writes the model (model.json), its metrics (metrics.json) and,
# from 10 rows on, the training values of x (baseline.json) to the run's
# output directory, which mlopsd registers as a model version.
set -eu
awk -F, -v out="$MLOPS_OUTPUT_DIR" '
# The first column is the one input of the model; the header names it.
NR == 1 { feature = $1; next }
{
	n++
	x[n] = $1; y[n] = $2
	sx += $1; sy += $2; sxx += $1 * $1; sxy += $1 * $2
}
END {
	if (n < 2) { print "need at least 2 rows" > "/dev/stderr"; exit 2 }
	d = n * sxx - sx * sx
	if (d == 0) { print "x is constant; cannot fit a line" > "/dev/stderr"; exit 2 }
	slope = (n * sxy - sx * sy) / d
	intercept = (sy - slope * sx) / n
	for (i = 1; i <= n; i++) { e = y[i] - (slope * x[i] + intercept); sse += e * e }
	rmse = sqrt(sse / n)
	printf "{\"slope\": %.6f, \"intercept\": %.6f}\n", slope, intercept > (out "/model.json")
	printf "{\"rmse\": %.6f, \"rows\": %d}\n", rmse, n > (out "/metrics.json")
	# The training inputs become the baseline of the version, which drift
	# alarms compare the inputs the endpoint serves with; a baseline needs
	# at least 10 values.
	if (n >= 10) {
		printf "{\"features\": [{\"name\": \"%s\", \"values\": [", feature > (out "/baseline.json")
		for (i = 1; i <= n; i++) printf "%s%.10g", (i > 1 ? ", " : ""), x[i] + 0 > (out "/baseline.json")
		printf "]}]}\n" > (out "/baseline.json")
	} else {
		printf "only %d rows: no baseline.json (a baseline needs at least 10 values)\n", n
	}
	printf "fitted y = %.6f * x + %.6f on %d rows (rmse %.6f)\n", slope, intercept, n, rmse
}' "$MLOPS_OUTPUT_DIR/train.csv"
