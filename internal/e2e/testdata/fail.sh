#!/bin/sh
# fail.sh prints some progress and then fails, as a diverging training
# step would.
i=1
while [ "$i" -le 25 ]; do
	echo "epoch $i: loss=nan"
	i=$((i + 1))
done
echo "error: loss diverged" >&2
exit 3
