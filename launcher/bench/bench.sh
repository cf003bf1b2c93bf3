#!/usr/bin/env bash
# ./mailcluster bench | chaos: installs what the harness needs from Debian, then runs it
# (launcher/bench/mailbench, a Python package) with Debian's own python3: the python3 on
# PATH may be another interpreter (pyenv) that does not see Debian's python3-matplotlib.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PYTHON=/usr/bin/python3

verb=$1; shift
packages=(python3 python3-matplotlib)
if [ "$verb" = chaos ] || [ "$verb" = bench-outbound ]; then
  # submission-kill's outside world is Postfix's smtp-sink
  dpkg-query -W -f='${Status}' postfix 2>/dev/null | grep -q 'install ok installed' \
    || echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
  packages+=(postfix)
fi
if [ "$verb" = bench ] && [[ " $* " != *" --no-reference "* ]]; then
  # Postfix unconfigured ("No configuration"): the Debian package then starts no system MTA;
  # the reference runs its own private instances (see mailbench/reference.py).
  dpkg-query -W -f='${Status}' postfix 2>/dev/null | grep -q 'install ok installed' \
    || echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
  packages+=(postfix dovecot-core dovecot-lmtpd)
fi
mc_apt_install "${packages[@]}"
cd "$MC_ROOT"
PYTHONPATH=$HERE:$MC_ROOT/launcher/lib${PYTHONPATH:+:$PYTHONPATH} exec "$PYTHON" -m mailbench "$verb" "$@"
