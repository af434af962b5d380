#!/usr/bin/env bash
# Create (or reuse) the project's virtual environment `.venv` with the OpenMMLab stack
# that works together, and install this package in editable mode.
#
# Idempotent: a stamp in .venv records what was installed; a second run with the same
# inputs only checks the stamp (seconds).
#
# Environment variables:
#   RELKD_PYTHON          interpreter for the venv (default: python3.11, else python3);
#                         3.11 and 3.12 pass the test suite
#   RELKD_VENV            where the venv goes (default: .venv in the repository)
#   RELKD_TORCH_VERSION   torch version (default 2.14.1)
#   RELKD_TORCHVISION_VERSION  torchvision version (default 0.29.1)
#   RELKD_TORCH_INDEX_URL extra index for another torch build, e.g.
#                         https://download.pytorch.org/whl/cu124 (GPU users)
#   RELKD_EXTRA_PINS      extra requirements installed with torch and with the stack,
#                         space-separated, e.g. 'numpy<2' for torch < 2.4
#   FORCE_CUDA=1          build mmcv's CUDA ops (needs nvcc; see README, GPU section)
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${RELKD_VENV:-$repo/.venv}"
torch_version="${RELKD_TORCH_VERSION:-2.14.1}"
torchvision_version="${RELKD_TORCHVISION_VERSION:-0.29.1}"
read -r -a extra_pins <<<"${RELKD_EXTRA_PINS:-}"
mmcv_version="2.1.0"
stack=(
  "mmengine==0.10.7" "mmdet==3.3.0" "mmpretrain==1.2.0" "mmrazor==1.0.0"
  "pycocotools" "joblib" "matplotlib" "pytest" "pytest-timeout" "pytest-random-order==1.2.0"
)
# torch 2.14 asks for setuptools >= 77.0.3; mmengine 0.10 (`mmdet::` config paths) and
# mmcv 2.1.0's setup.py import pkg_resources, gone in setuptools >= 81. The same
# setuptools builds mmcv and stays installed, so pip never reports a conflict.
setuptools_requirement="setuptools>=77.0.3,<81"

if [ -z "${RELKD_PYTHON:-}" ]; then
  RELKD_PYTHON="$(command -v python3.11 || command -v python3)"
fi

stamp_content="torch=$torch_version torchvision=$torchvision_version mmcv=$mmcv_version \
force_cuda=${FORCE_CUDA:-0} index=${RELKD_TORCH_INDEX_URL:-} stack=${stack[*]} \
setup=$(sha1sum "$repo/setup.py" | cut -c1-12) script=$(sha1sum "${BASH_SOURCE[0]}" | cut -c1-12)"
[ ${#extra_pins[@]} -eq 0 ] || stamp_content="$stamp_content pins=${extra_pins[*]}"
stamp="$venv/.relkd-installed"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$stamp_content" ]; then
  echo "[setup_env] $venv is up to date ($stamp)"
  exit 0
fi

if [ ! -x "$venv/bin/python" ]; then
  echo "[setup_env] creating $venv with $RELKD_PYTHON"
  "$RELKD_PYTHON" -m venv "$venv"
fi
pip=("$venv/bin/python" -m pip)
"${pip[@]}" install -q --upgrade pip wheel

torch_args=()
[ -n "${RELKD_TORCH_INDEX_URL:-}" ] && torch_args=(--extra-index-url "$RELKD_TORCH_INDEX_URL")
echo "[setup_env] torch==$torch_version torchvision==$torchvision_version ${extra_pins[*]}"
"${pip[@]}" install -q "${torch_args[@]}" "torch==$torch_version" "torchvision==$torchvision_version" \
  "$setuptools_requirement" "${extra_pins[@]}"
if ! cpp_extension_error="$("$venv/bin/python" -c 'import torch.utils.cpp_extension' 2>&1)"; then
  case "$cpp_extension_error" in
    *"cannot import name 'packaging' from 'pkg_resources'"*)
      # torch < 2.2 (it asks for no setuptools version) imports `packaging` from
      # pkg_resources, which setuptools >= 70 dropped.
      setuptools_requirement="setuptools<70"
      echo "[setup_env] torch $torch_version builds extensions with $setuptools_requirement"
      "${pip[@]}" install -q "$setuptools_requirement" ;;
    *)
      echo "[setup_env] torch $torch_version cannot build extensions:" >&2
      echo "$cpp_extension_error" >&2
      exit 1 ;;
  esac
fi

# The C++ standard the installed torch's headers require: torch/all.h stops with
# "C++NN or later compatible compiler is required" below it (17 for torch 2.1, 20 for 2.14).
torch_cxx_standard() {
  local header
  header="$("$venv/bin/python" -c 'import os, torch; print(os.path.join(os.path.dirname(torch.__file__), "include", "torch", "csrc", "api", "include", "torch", "all.h"))')"
  grep -o 'C++[0-9]* or later compatible compiler is required' "$header" 2>/dev/null \
    | grep -o '[0-9][0-9]' | head -n 1 || true
}

if ! "$venv/bin/python" -c "import mmcv, mmcv.ops; assert mmcv.__version__ == '$mmcv_version'" 2>/dev/null; then
  # mmcv 2.1.0 has no wheels on PyPI: build one per torch build and Python (pip's own
  # wheel cache is keyed by the sdist only, so it would hand a wheel built for another
  # torch). The folder is the torch build's; the wheel's name carries the Python and ABI
  # tags (e.g. cp311-cp311), so each Python finds its own wheel there.
  torch_build="$("$venv/bin/python" -c 'import torch; print(torch.__version__)')"
  python_tags="$("$venv/bin/python" -c 'import sys; v = f"cp{sys.version_info[0]}{sys.version_info[1]}"; print(f"{v}-{v}{sys.abiflags}")')"
  mmcv_wheels="${XDG_CACHE_HOME:-$HOME/.cache}/mmrazor_relkd/mmcv-$mmcv_version-torch$torch_build-cuda${FORCE_CUDA:-0}"
  mmcv_wheel_pattern="$mmcv_wheels/mmcv-$mmcv_version-$python_tags-*.whl"
  if ! compgen -G "$mmcv_wheel_pattern" >/dev/null; then
    cxx_standard="$(torch_cxx_standard)"
    if [ -z "$cxx_standard" ]; then
      echo "[setup_env] cannot tell which C++ standard torch $torch_build's headers need" \
        "(no 'C++NN or later compatible compiler is required' in torch/all.h)" >&2
      exit 1
    fi
    build_env=(PATH="$venv/bin:$PATH")
    if [ "$cxx_standard" -gt 17 ]; then
      # mmcv's setup.py forces -std=c++17 (c++14 for old torch): compile through
      # wrappers that rewrite the flag to the standard torch's headers need.
      wrap="$(mktemp -d)"
      for tool in c++ g++ cc gcc; do
        real="$(command -v "$tool" || true)"
        [ -n "$real" ] || continue
        cat >"$wrap/$tool" <<WRAP
#!/usr/bin/env bash
args=()
for a in "\$@"; do
  case "\$a" in -std=c++1[147]|-std=gnu++1[147]) a="-std=c++$cxx_standard" ;; esac
  args+=("\$a")
done
exec "$real" "\${args[@]}"
WRAP
        chmod +x "$wrap/$tool"
      done
      build_env=(PATH="$wrap:$venv/bin:$PATH" CC="$wrap/gcc" CXX="$wrap/g++")
    fi
    echo "[setup_env] building mmcv==$mmcv_version for torch $torch_build, $python_tags, in C++$cxx_standard" \
      "(about 12 min on 2 cores; the wheel is kept in $mmcv_wheels)"
    env "${build_env[@]}" MAX_JOBS="${MAX_JOBS:-$(nproc)}" \
      "${pip[@]}" wheel --no-build-isolation --no-deps --no-cache-dir -w "$mmcv_wheels" \
      "mmcv==$mmcv_version"
    [ -z "${wrap:-}" ] || rm -rf "$wrap"
  fi
  mapfile -t mmcv_wheel < <(compgen -G "$mmcv_wheel_pattern")
  "${pip[@]}" install -q --force-reinstall --no-deps "${mmcv_wheel[@]}"
fi

echo "[setup_env] installing the OpenMMLab stack and this package"
"${pip[@]}" install -q "mmcv==$mmcv_version" "${stack[@]}" "$setuptools_requirement" \
  "${extra_pins[@]}"
"${pip[@]}" install -q --no-build-isolation -e "$repo"
"$venv/bin/python" -c "import mmrazor_relkd, mmcv.ops; print('[setup_env] ok: mmrazor_relkd', mmrazor_relkd.__version__)"
echo "$stamp_content" >"$stamp"
