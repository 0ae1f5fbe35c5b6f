#!/usr/bin/env bash
# Debian's chromium (and a CJK font for readable screenshots) for the workstation's Playwright tests.
# Playwright drives it through executable_path: no browser download.
set -euo pipefail
if [[ -x /usr/bin/chromium ]] && fc-list :lang=zh 2>/dev/null | grep -q .; then
  exit 0
fi
install() {
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-microhei >/dev/null
}
if [[ $(id -u) -eq 0 ]]; then
  install >&2
else
  sudo -n bash -c "$(declare -f install); install" >&2
fi
