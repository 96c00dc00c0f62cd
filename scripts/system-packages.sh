#!/usr/bin/env bash
# Install the Debian/Ubuntu packages a make target needs, when they are missing.
#
#   scripts/system-packages.sh build  what pip builds and loads: ICU's headers and pkg-config (PyICU,
#                                     the leaderboard's confusable names), libseccomp (the sandbox)
#   scripts/system-packages.sh demo   bubblewrap (grading sandbox), npm (the site's MathJax)
#   scripts/system-packages.sh test   the same, plus chromium and poppler-utils (hand-in PDFs)
#
# As root it runs apt-get itself; otherwise through sudo when sudo works without
# a password prompt. Where neither is possible it stops with one line that gives
# the exact command to run.
set -euo pipefail

declare -A package_of=(
  [bwrap]=bubblewrap
  [setpriv]=util-linux
  [prlimit]=util-linux
  [npm]=npm
  [chromium]=chromium
  [pdftoppm]=poppler-utils
  [pkg-config]=pkg-config
  [icu]=libicu-dev
  [seccomp]=libseccomp2
)
case "${1:-test}" in
  build) commands=(pkg-config icu seccomp) ;;
  demo) commands=(bwrap setpriv prlimit npm) ;;
  test) commands=(bwrap setpriv prlimit npm chromium pdftoppm) ;;
  *) echo "usage: $0 build|demo|test" >&2; exit 2 ;;
esac

present() {
  case "$1" in
    icu) pkg-config --exists icu-uc icu-i18n 2>/dev/null ;;
    seccomp) ldconfig -p 2>/dev/null | grep -q 'libseccomp\.so\.2' ;;
    *) command -v "$1" >/dev/null 2>&1 ;;
  esac
}

missing=()
for command in "${commands[@]}"; do
  if ! present "$command"; then
    package=${package_of[$command]}
    [[ " ${missing[*]-} " == *" $package "* ]] || missing+=("$package")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

install=(apt-get install -y -qq "${missing[@]}")
if [ "$(id -u)" -eq 0 ]; then
  run=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  run=(sudo)
else
  echo "coursekit: missing system packages; run: sudo apt-get update && sudo ${install[*]}" >&2
  exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "coursekit: missing system packages (${missing[*]}) and no apt-get here; install them with your package manager" >&2
  exit 1
fi
echo "coursekit: installing system packages: ${missing[*]}"
"${run[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${run[@]}" "${install[@]}" >/dev/null
