#!/usr/bin/env bash
# The installed package, as a user gets it: `cmake --install` into a temporary prefix, then examples/ built against
# that prefix only (separate build dirs) three ways - find_package(octet) with the shared library, pkg-config, and
# find_package with liboctet.a - and each program must classify every demo image as its file name says
# (models/images/<idx>_<label>.png). Also: liboctet.so exports only octet_* and carries the major-version SONAME.
# The installed Python module imports with Debian's python3 and classifies too.
# Usage: bash tests/cli/install.sh path/to/build/bin/octet   (from the repo root)
set -u
OCTET=$1
BUILD=$(cd "$(dirname "$OCTET")/.." && pwd)
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
PREFIX=$T/prefix
pass=0; fails=0
ok() { echo "ok    $*"; pass=$((pass+1)); }
no() { echo "FAIL  $*"; fails=$((fails+1)); }
GEN=(); command -v ninja >/dev/null && GEN=(-G Ninja)

if cmake --install "$BUILD" --prefix "$PREFIX" >"$T/install.log" 2>&1; then ok "cmake --install to $PREFIX"
else no "cmake --install: $(tail -n 5 "$T/install.log")"; echo "$pass passed, $fails failed"; exit 1; fi

LIBDIR=$(dirname "$(find "$PREFIX" -name 'liboctet.so' | head -n 1)")
for f in include/octet/octet.h include/octet/octet.hpp; do
  [ -f "$PREFIX/$f" ] && ok "installed $f" || no "missing $f"
done
for f in liboctet.a liboctet.so cmake/octet/octetConfig.cmake cmake/octet/octetConfigVersion.cmake \
         cmake/octet/octetTargets.cmake pkgconfig/octet.pc; do
  [ -e "$LIBDIR/$f" ] && ok "installed lib/$f" || no "missing $LIBDIR/$f"
done

# The SONAME names the major version; the dynamic symbol table holds the C API and nothing else.
soname=$(objdump -p "$LIBDIR/liboctet.so" | awk '/SONAME/ {print $2}')
major=$(sed -n 's/#define OCTET_VERSION_MAJOR \([0-9]*\)/\1/p' include/octet/octet.h)
[ "$soname" = "liboctet.so.$major" ] && ok "SONAME $soname" || no "SONAME '$soname', expected liboctet.so.$major"
nm -D --defined-only "$LIBDIR/liboctet.so" | awk '{print $NF}' | sort >"$T/symbols"
others=$(grep -v '^octet_' "$T/symbols" | tr '\n' ' ')
count=$(grep -c '^octet_' "$T/symbols")
api=$(grep -oE '^OCTET_API [^(]*\(' include/octet/octet.h | grep -oE 'octet_[a-z_0-9]+\($' | tr -d '(' | sort)
if [ -z "$others" ] && [ "$api" = "$(grep '^octet_' "$T/symbols")" ]; then
  ok "liboctet.so exports exactly the $count functions octet.h declares"
else
  no "liboctet.so exports: other symbols [$others]; declared vs exported: $(diff <(echo "$api") <(grep '^octet_' "$T/symbols") | tr '\n' ' ')"
fi

# check_classify NAME BINARY: every image's printed label (2nd column) is the file name's label.
IMAGES=(models/images/*.png)
check_classify() {
  local name=$1 bin=$2
  if ! "$bin" models/fmnist_resnet.onnx "${IMAGES[@]}" >"$T/out" 2>"$T/err"; then
    no "$name: exit $?: $(head -c 300 "$T/err")"; return
  fi
  local wrong=0 lines=0
  while IFS=$'\t' read -r path label _; do
    lines=$((lines+1))
    want=$(basename "$path" .png); want=${want#*_}
    got=$(echo "$label" | tr 'A-Z/' 'a-z_')
    [ "$got" = "$want" ] || { wrong=$((wrong+1)); echo "  $name: $path -> $label"; }
  done <"$T/out"
  if [ "$lines" -eq "${#IMAGES[@]}" ] && [ "$wrong" -eq 0 ]; then ok "$name classifies all $lines demo images"
  else no "$name: $lines lines, $wrong wrong: $(head -c 300 "$T/out")"; fi
}

# build NAME CMAKE_ARGS...: configure and build examples/ in its own dir against the prefix only.
build() {
  local name=$1; shift
  local dir=$T/$name
  if cmake -S examples -B "$dir" "${GEN[@]}" -DCMAKE_BUILD_TYPE=Release "$@" >"$T/$name.log" 2>&1 &&
     cmake --build "$dir" -j2 >>"$T/$name.log" 2>&1; then
    ok "$name: examples built"
    check_classify "$name/classify (C++)" "$dir/classify"
    check_classify "$name/classify_c (C)" "$dir/classify_c"
  else
    no "$name: build failed: $(tail -n 15 "$T/$name.log")"
  fi
}

build find_package -DCMAKE_PREFIX_PATH="$PREFIX"
PKG_CONFIG_PATH="$LIBDIR/pkgconfig" build pkg-config -DOCTET_EXAMPLES_PKGCONFIG=ON
build static -DCMAKE_PREFIX_PATH="$PREFIX" -DOCTET_EXAMPLES_STATIC=ON
# The static programs must not need liboctet.so at run time.
if [ -x "$T/static/classify_c" ]; then
  ldd "$T/static/classify_c" | grep -q liboctet && no "static/classify_c links liboctet.so" \
    || ok "static/classify_c does not load liboctet.so"
fi
# pkg-config's answers point into the prefix (the .pc file is relocatable).
cflags=$(PKG_CONFIG_PATH="$LIBDIR/pkgconfig" pkg-config --cflags octet | xargs)
[ "$(cd "${cflags#-I}" 2>/dev/null && pwd)" = "$(cd "$PREFIX/include" && pwd)" ] && ok "pkg-config --cflags: $cflags" \
  || no "pkg-config --cflags '$cflags' is not $PREFIX/include"

# The Python module, installed: Debian's python3 imports it from the prefix (no build tree on the path; the module
# finds liboctet.so relative to itself) and classifies a demo image; and the folder the default prefix /usr/local
# would use is one Debian's python3 searches.
PYMOD=$(find "$PREFIX" -name '_octet*.so' | head -n 1)
if [ -z "$PYMOD" ]; then no "no Python module (_octet*.so) installed"
else
  PYDIR=$(dirname "$(dirname "$PYMOD")")
  SRC=$PWD
  got=$(cd "$T" && PYTHONPATH="$PYDIR" /usr/bin/python3 -c "
import numpy as np, octet, sys
assert octet.__file__.startswith('$PYDIR'), octet.__file__
s = octet.InferenceSession('$SRC/models/fmnist_resnet.onnx', threads=1)
y = s.run(None, {'input': s.load_image('$SRC/models/images/2_trouser.png')})[0]
print(s.metadata('labels').splitlines()[int(np.argmax(y))])" 2>&1)
  [ "$got" = "Trouser" ] && ok "installed Python module ($PYDIR) classifies 2_trouser.png" \
    || no "installed Python module: $got"
  rel=${PYDIR#"$PREFIX"/}
  /usr/bin/python3 -c "import sys; sys.exit('/usr/local/$rel' not in sys.path)" \
    && ok "/usr/local/$rel is on Debian python3's sys.path" || no "/usr/local/$rel is not on python3's sys.path"
fi

echo "$pass passed, $fails failed"
[ "$fails" -eq 0 ]
