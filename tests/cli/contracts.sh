#!/usr/bin/env bash
# The command-line contracts that outside tools parse (../shared/check-contracts.sh, kept beside the repo).
set -u
OCTET=$1
script=../shared/check-contracts.sh
if [ ! -f "$script" ]; then echo "no $script beside the repo: nothing to check"; exit 0; fi
OCTET=$OCTET bash "$script"
