#!/usr/bin/env bash
# Runs, against real S3 servers, the storage driver suite, the store's
# round trip and GC lease over the S3 driver, a chunked upload whose POST,
# PATCHes and PUT go to three registries on one bucket, and the index's
# tables and views on a store in the bucket; on SeaweedFS also the fault
# tests of the registry process (SIGKILL mid-push, the S3 server stopped
# mid-push, GC while another process pushes) and the real-client suite
# (scripts/clients-e2e.sh) on a registry whose store is in the bucket. The servers, SeaweedFS and
# versitygw, are each started fresh by scripts/s3-server.sh (their binaries
# built into the cache by scripts/s3-tools.sh when absent), then stopped.
#
#   bash scripts/s3-test.sh                 # both servers
#   bash scripts/s3-test.sh versitygw       # one
set -euo pipefail
cd "$(dirname "$0")/.."

servers=("$@")
[[ ${#servers[@]} -gt 0 ]] || servers=(weed versitygw)

running=""
cleanup() { [[ -z "$running" ]] || bash scripts/s3-server.sh stop "$running"; }
trap cleanup EXIT

for server in "${servers[@]}"; do
	start=$SECONDS
	env="$(bash scripts/s3-server.sh start "$server")"
	running="$server"
	echo "[s3-test] $server ready after $((SECONDS - start))s"
	start=$SECONDS
	(
		eval "$env"
		LAYERLAB_S3_REQUIRED=1 go test -count=1 ./registry/storage/driver/s3/
		LAYERLAB_S3_REQUIRED=1 go test -count=1 -run 'TestStoreOnDrivers|TestGCLease' ./registry/storage/
		LAYERLAB_S3_REQUIRED=1 go test -count=1 -run 'TestUploadAcrossProcesses' ./registry/server/
		LAYERLAB_S3_REQUIRED=1 LAYERLAB_INDEX_DRIVER=s3 go test -count=1 -run 'TestTables|TestViews|TestFamilyAndBlobUsers' ./registry/index/
		if [[ "$server" == weed ]]; then
			# The registry process under faults: SIGKILL mid-push, the S3
			# server stopped mid-push and resumed, GC while another pushes.
			LAYERLAB_S3_REQUIRED=1 go test -count=1 -run 'TestCrashSafetyS3|TestS3OutageMidPush|TestGCOnS3WhilePushing' ./registry/
			# The real clients (crane, regctl, oras, skopeo, podman, docker
			# when an engine answers) against a registry on the bucket.
			E2E_STORAGE=s3 bash scripts/clients-e2e.sh
		fi
	)
	echo "[s3-test] driver suite and store round trip on $server: $((SECONDS - start))s"
	bash scripts/s3-server.sh stop "$server"
	running=""
done
