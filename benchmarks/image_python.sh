#!/bin/sh
# CPython built the way the worker image's base builds it, and a venv on it.
#
#     benchmarks/image_python.sh [PREFIX] [VENV]   # .cache/image-python, .venv-image
#
# The image runs on python:3.11-slim (deploy/Dockerfile). docker-library builds that
# CPython with profile-guided and link-time optimization (--enable-optimizations
# --with-lto --enable-shared, Debian's hardening flags). A development interpreter
# may have neither (pyenv's default build has neither), and this project's pure-Python
# work runs measurably slower on it (docs/performance/interpreter.md). A benchmark run
# on this build measures what the image runs.
#
# The source is CPython 3.11.2 as Debian ships it: its orig tarball is python.org's
# Python-3.11.2.tgz (the checksum below is python.org's), and Debian's mirror is what
# these machines reach. The image follows the newest 3.11; patch releases of 3.11 fix
# bugs and security issues, not speed. Built once, in about 20 minutes on two cores;
# later runs reuse it.
set -eu

VERSION=3.11.2
URL="https://deb.debian.org/debian/pool/main/p/python3.11/python3.11_${VERSION}.orig.tar.gz"
SHA256=2411c74bda5bbcfcddaf4531f66d1adc73f247f529aee981b029513aefdbf849
PREFIX=$(realpath -m "${1:-.cache/image-python}")
VENV=${2:-.venv-image}
SUDO=$([ "$(id -u)" -eq 0 ] || echo sudo)

# What docker-library installs to build it (those the standard library needs here).
DEPS="dpkg-dev gcc make libbz2-dev libffi-dev liblzma-dev libsqlite3-dev libssl-dev zlib1g-dev uuid-dev libreadline-dev libncursesw5-dev libgdbm-dev"
missing=""
for dep in $DEPS; do
  dpkg -s "$dep" >/dev/null 2>&1 || missing="$missing $dep"
done
if [ -n "$missing" ]; then
  echo "installing Debian's$missing to build CPython"
  $SUDO apt-get update -qq
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing >/dev/null
fi

if [ ! -x "$PREFIX/bin/python3.11" ]; then
  echo "building CPython $VERSION with PGO and LTO into $PREFIX (about 20 minutes, once)"
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  curl -fsSL -o "$work/python.tgz" "$URL"
  echo "$SHA256  $work/python.tgz" | sha256sum -c - >/dev/null
  tar -xzf "$work/python.tgz" -C "$work" --strip-components=1
  cd "$work"
  ./configure --prefix="$PREFIX" --enable-loadable-sqlite-extensions \
    --enable-optimizations --enable-option-checking=fatal --enable-shared --with-lto \
    --with-ensurepip >"$work/configure.log" 2>&1 || { tail -20 "$work/configure.log"; exit 1; }
  flags=$(dpkg-buildflags --get CFLAGS)
  links="$(dpkg-buildflags --get LDFLAGS) -Wl,-rpath=$PREFIX/lib"
  make -j"$(nproc)" EXTRA_CFLAGS="$flags" LDFLAGS="$links" >"$work/make.log" 2>&1 \
    || { tail -40 "$work/make.log"; exit 1; }
  make install >"$work/install.log" 2>&1 || { tail -20 "$work/install.log"; exit 1; }
  cd - >/dev/null
fi

if [ ! -x "$VENV/bin/python" ]; then
  "$PREFIX/bin/python3.11" -m venv "$VENV"
fi
# The image's pinned dependencies, then the project and the benchmark's own tools.
"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install --quiet --require-hashes -r deploy/requirements.lock
"$VENV/bin/python" -m pip install --quiet -e '.[dev]'
"$VENV/bin/python" -c "import sysconfig, sys; a = sysconfig.get_config_var('CONFIG_ARGS'); \
assert '--enable-optimizations' in a and '--with-lto' in a, a; print(sys.version.split()[0], 'PGO+LTO:', sys.executable)"
