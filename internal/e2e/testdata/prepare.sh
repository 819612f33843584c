#!/bin/sh
# prepare.sh checks the training CSV (header x,y) named by $1 and copies it
# into the run's output directory for the next step.
set -eu
src="$1"
rows=$(awk 'END { print NR - 1 }' "$src")
if [ "$rows" -lt "$MLOPS_PARAM_MIN_ROWS" ]; then
	echo "only $rows rows in $src; need at least $MLOPS_PARAM_MIN_ROWS" >&2
	exit 4
fi
cp "$src" "$MLOPS_OUTPUT_DIR/train.csv"
echo "prepared $rows rows from $src"
