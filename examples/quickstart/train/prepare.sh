#!/bin/sh
# prepare.sh, the quickstart pipeline's first step: checks the training CSV
# named by $1 (a header, then size_m2,price_k rows of numbers) and copies it
# into the run's output directory, which the next step reads.
set -eu
src="$1"
awk -F, '
NR == 1 { next }
NF != 2 || $1 !~ /^[0-9.]+$/ || $2 !~ /^[0-9.]+$/ {
	printf "line %d of %s is not two numbers: %s\n", NR, FILENAME, $0 > "/dev/stderr"
	bad = 1
}
END { exit bad }' "$src"
rows=$(awk 'END { print NR - 1 }' "$src")
if [ "$rows" -lt "$MLOPS_PARAM_MIN_ROWS" ]; then
	echo "only $rows rows in $src; need at least $MLOPS_PARAM_MIN_ROWS (parameter min_rows)" >&2
	exit 4
fi
cp "$src" "$MLOPS_OUTPUT_DIR/train.csv"
echo "prepared $rows rows from $src"
