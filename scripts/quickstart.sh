#!/usr/bin/env bash
# Quickstart: build the provider and mlopsd, start mlopsd on its embedded
# SQLite default, point Terraform at the freshly built provider through a
# filesystem mirror (no registry download, nothing written to $HOME), apply
# examples/quickstart and train its model once.
#
#   scripts/quickstart.sh up        build, start mlopsd, apply, run the training pipeline once (make quickstart)
#   scripts/quickstart.sh plan      terraform plan of the quickstart
#   scripts/quickstart.sh destroy   terraform destroy of the quickstart
#   scripts/quickstart.sh down      stop mlopsd                  (make quickstart-down)
#   scripts/quickstart.sh clean     stop mlopsd and remove .quickstart/
#
# `up` then serves the version the run registered: it writes served_version
# into serving.auto.tfvars in the working copy, applies again (an endpoint
# and its alarms appear) and calls the model through the gateway with curl.
#
# Everything lives in .quickstart/ at the repository root. MLOPS_QUICKSTART_PORT
# changes the port (default 8080).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
QS="$ROOT/.quickstart"
PORT="${MLOPS_QUICKSTART_PORT:-8080}"
ENDPOINT="http://127.0.0.1:$PORT"
PROVIDER_VERSION="0.1.0"
PROVIDER_ADDR="registry.terraform.io/mlops-as-code/mlops"
WORK="$QS/work"
# The environment examples/quickstart declares.
QS_ENV="dev"
# How long `up` waits for the training run, in half seconds.
RUN_WAIT_TICKS=120

export CHECKPOINT_DISABLE=1
export TF_CLI_CONFIG_FILE="$QS/terraformrc"
export TF_IN_AUTOMATION=1

die() { echo "quickstart: $*" >&2; exit 1; }

need() {
	command -v "$1" >/dev/null 2>&1 || die "$1 is not on PATH; $2"
}

build() {
	need go "install Go 1.26 or newer"
	need terraform "install Terraform 1.11 or newer (https://developer.hashicorp.com/terraform/install)"
	echo "==> building mlopsd and the provider"
	mkdir -p "$ROOT/bin"
	(cd "$ROOT" && go build -o bin/mlopsd ./cmd/mlopsd && go build -ldflags "-X main.version=$PROVIDER_VERSION" -o bin/terraform-provider-mlops .)
	local os arch
	os="$(go env GOOS)"
	arch="$(go env GOARCH)"
	local dir="$QS/plugins/$PROVIDER_ADDR/$PROVIDER_VERSION/${os}_${arch}"
	rm -rf "$QS/plugins"
	mkdir -p "$dir"
	cp "$ROOT/bin/terraform-provider-mlops" "$dir/terraform-provider-mlops_v$PROVIDER_VERSION"
	cat >"$TF_CLI_CONFIG_FILE" <<CFG
# Written by scripts/quickstart.sh: install the mlops provider from the local
# build and nothing from the network.
provider_installation {
  filesystem_mirror {
    path    = "$QS/plugins"
    include = ["$PROVIDER_ADDR"]
  }
  direct {
    exclude = ["$PROVIDER_ADDR"]
  }
}
CFG
}

healthy() {
	curl -fsS --max-time 2 "$ENDPOINT/healthz" >/dev/null 2>&1
}

start() {
	need curl "install curl"
	if [[ -f "$QS/mlopsd.pid" ]] && kill -0 "$(cat "$QS/mlopsd.pid")" 2>/dev/null; then
		# A rebuilt binary must not be ignored: restart onto it.
		kill "$(cat "$QS/mlopsd.pid")" && wait_stopped
	fi
	if healthy; then
		die "something already answers on $ENDPOINT; stop it or set MLOPS_QUICKSTART_PORT"
	fi
	echo "==> starting mlopsd on $ENDPOINT (data: $QS/mlops.db, log: $QS/mlopsd.log)"
	# No file descriptor of ours may stay open in the daemon, or a caller
	# reading our output through a pipe would wait for it forever.
	nohup "$ROOT/bin/mlopsd" -addr "127.0.0.1:$PORT" -data "$QS/mlops.db" </dev/null >>"$QS/mlopsd.log" 2>&1 &
	echo $! >"$QS/mlopsd.pid"
	for _ in $(seq 1 100); do
		healthy && return 0
		kill -0 "$(cat "$QS/mlopsd.pid")" 2>/dev/null || { tail -20 "$QS/mlopsd.log" >&2; die "mlopsd exited"; }
		sleep 0.1
	done
	tail -20 "$QS/mlopsd.log" >&2
	die "mlopsd did not answer on $ENDPOINT within 10s"
}

wait_stopped() {
	local pid
	pid="$(cat "$QS/mlopsd.pid")"
	for _ in $(seq 1 100); do
		kill -0 "$pid" 2>/dev/null || { rm -f "$QS/mlopsd.pid"; return 0; }
		sleep 0.1
	done
	die "mlopsd (pid $pid) did not stop within 10s"
}

tf() {
	terraform -chdir="$WORK" "$@"
}

prepare_work() {
	mkdir -p "$WORK"
	cp "$ROOT"/examples/quickstart/*.tf "$WORK/"
	# A version served by an earlier quickstart is gone with its mlopsd
	# data or its destroy; serve() writes the new one.
	rm -f "$WORK/serving.auto.tfvars"
	# The pipeline's steps and its training data, referenced by absolute
	# path from the working copy.
	rm -rf "$WORK/train"
	cp -R "$ROOT/examples/quickstart/train" "$WORK/train"
	# The provider is rebuilt each time, so its checksum changes: re-lock.
	rm -f "$WORK/.terraform.lock.hcl"
	tf init -input=false -no-color >/dev/null
}

mlopsd_cli() {
	"$ROOT/bin/mlopsd" "$@" -env "$QS_ENV" -endpoint "$ENDPOINT"
}

# train starts one run of the quickstart's training pipeline, waits for it
# (at most a minute) and shows it with the model version it registered and
# that version's lineage. Runs and registered versions are not in Terraform
# state, so the plan stays empty; destroy deletes them.
train() {
	local pipeline run phase=""
	pipeline="$(tf output -raw training_pipeline)"
	echo "==> starting a training run of $pipeline (mlopsd runs start -env $QS_ENV $pipeline)"
	run="$(mlopsd_cli runs start "$pipeline")"
	TRAINED_RUN="$run"
	echo "    run $run started; waiting for it to finish"
	for _ in $(seq 1 "$RUN_WAIT_TICKS"); do
		phase="$(mlopsd_cli runs get "$run" | awk '$1 == "phase:" { print $2 }')" || phase=""
		case "$phase" in
		succeeded | failed | cancelled) break ;;
		esac
		sleep 0.5
	done
	echo "==> run $run, the model version it registered and its lineage (mlopsd runs get -env $QS_ENV $run)"
	mlopsd_cli runs get "$run"
	case "$phase" in
	succeeded) ;;
	failed | cancelled)
		mlopsd_cli runs logs "$run" >&2 || true
		die "training run $run ended $phase"
		;;
	*) die "training run $run did not finish within $((RUN_WAIT_TICKS / 2))s (phase ${phase:-unknown}); see mlopsd runs logs -env $QS_ENV $run" ;;
	esac
}

# serve applies the configuration again with served_version set to the
# version run $1 registered (runs register versions under their own name),
# then predicts through the gateway with curl.
serve() {
	local version="$1" path body
	echo "==> serving $version (served_version in $WORK/serving.auto.tfvars, terraform apply)"
	printf 'served_version = "%s"\n' "$version" >"$WORK/serving.auto.tfvars"
	tf apply -input=false -auto-approve -var "endpoint=$ENDPOINT"
	path="$(tf output -raw predict_path)"
	body='{"inputs": [80]}'
	echo "==> asking the served model for the price of an 80 m2 house"
	echo "    curl -sS -X POST $ENDPOINT$path -H 'Content-Type: application/json' -d '$body'"
	curl -fsS -X POST "$ENDPOINT$path" -H 'Content-Type: application/json' -d "$body" || die "the endpoint did not answer the prediction"
	echo
}

case "${1:-up}" in
up)
	mkdir -p "$QS"
	build
	start
	prepare_work
	echo "==> terraform apply (examples/quickstart, working copy in $WORK)"
	tf apply -input=false -auto-approve -var "endpoint=$ENDPOINT"
	train
	serve "$TRAINED_RUN"
	cat <<MSG

Done. mlopsd is running at $ENDPOINT (pid $(cat "$QS/mlopsd.pid")), serving $TRAINED_RUN.
  open $ENDPOINT/ui/        # the web console: environments, pipelines and runs, registry, endpoints, alarms, audit log
  curl -X POST $ENDPOINT$(tf output -raw predict_path) -H 'Content-Type: application/json' -d '{"inputs": [120]}'
                                  # a prediction: {"variant":"primary","model_version":"$TRAINED_RUN","prediction":...}
  scripts/quickstart.sh plan      # shows no changes
  bin/mlopsd runs list -env $QS_ENV -endpoint $ENDPOINT
                                  # the training runs; edit $WORK/train/houses.csv to start another
  scripts/quickstart.sh destroy   # removes everything the quickstart created, runs and versions included
  scripts/quickstart.sh down      # stops mlopsd (make quickstart-down)
MSG
	;;
plan)
	tf plan -input=false -var "endpoint=$ENDPOINT" "${@:2}"
	;;
destroy)
	tf destroy -input=false -auto-approve -var "endpoint=$ENDPOINT"
	# The version it named went with the model.
	rm -f "$WORK/serving.auto.tfvars"
	;;
down)
	if [[ -f "$QS/mlopsd.pid" ]] && kill -0 "$(cat "$QS/mlopsd.pid")" 2>/dev/null; then
		kill "$(cat "$QS/mlopsd.pid")"
		wait_stopped
		echo "mlopsd stopped"
	else
		echo "mlopsd is not running"
	fi
	;;
clean)
	"$0" down
	rm -rf "$QS" "$ROOT/bin"
	echo "removed .quickstart/ and bin/"
	;;
*)
	die "unknown command ${1}; use up, plan, destroy, down or clean"
	;;
esac
